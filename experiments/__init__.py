"""Research scripts behind tables in docs/ (each says which); run from the repository root with python -m."""
