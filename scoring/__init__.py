"""LLM scoring: criteria, prompt, reply parsing, pricing and the scorer."""
