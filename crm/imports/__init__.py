"""Import and export file formats: decoding, readers and streaming writers."""
