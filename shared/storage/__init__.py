"""Table and Blob storage: the one boundary where azure.core errors become certgate's own."""
