"""Tags: names, vocabulary (aliases, implications, translations) and undoable edits;
sidecar .txt files; caption text for training sets."""
