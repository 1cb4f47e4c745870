"""Linear algebra on any lineax operator: norms, pseudoinverses, eigenpairs, subspaces."""
