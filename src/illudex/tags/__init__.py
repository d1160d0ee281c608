"""Tags: vocabulary, aliases and edits; sidecar .txt files; caption text for training sets."""
