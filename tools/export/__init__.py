"""Hand-over: accepted samples become files a researcher and an evaluation harness load as they are.

`bundle.export_benchmark` writes every file of a finished build atomically, with its manifest; `card`
writes the Hugging Face dataset card. Imports only `tools.contracts`, `tools.errors` and `memory`.
"""
