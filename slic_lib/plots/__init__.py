"""The paper's figures, one module per topic; each function draws from stored results only."""
