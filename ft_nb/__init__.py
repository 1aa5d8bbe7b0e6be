"""Notebook-first parameter-efficient fine-tuning (LoRA, QLoRA, Prefix Tuning, P-Tuning v2) of open LLMs

Modules:

- `ft_nb.methods`: LoRA, QLoRA, DoRA, Prefix Tuning, P-Tuning v2, P-Tuning, Prompt Tuning and IA³ through PEFT — checked up front, and with generation that is provably correct for every method."""

__version__ = "0.1.0"
