"""File formats on the ground floor: reading and writing CSV, TSV, XLSX and vCard files, the encoding
detection they share, the bounds on what a file may unpack to, and the coded file problems with their
translated messages. Nothing here knows a domain; imports and the reports' exports both stand on it."""
