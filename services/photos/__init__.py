"""Photos: the pure pipeline, intake into storage, delivery of served copies, pruning."""
