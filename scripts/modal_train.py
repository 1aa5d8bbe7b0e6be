"""ft_nb on Modal: train, evaluate and serve a config on a cloud GPU.

    pip install modal && modal setup          # once
    modal run scripts/modal_train.py --config configs/smollm2_lora.yaml --run-name smollm2-lora
    FT_NB_MODAL_SERVE_ADAPTERS=smollm2-lora modal deploy scripts/modal_train.py

Settings (GPU, timeout, retries, volumes, secrets) come from configs/cloud/modal.yaml or the file named by
FT_NB_MODAL_CONFIG, and FT_NB_MODAL_<FIELD> variables (e.g. FT_NB_MODAL_GPU=H100:2); see ft_nb.cloud.
HF_TOKEN and WANDB_API_KEY, when set where you type the command, reach the functions as a Modal secret.
"""
from pathlib import Path
import modal
from ft_nb.cloud import modal_settings, modal_image, function_options, train_run, evaluate_run, serve_app

ROOT = Path(__file__).resolve().parent.parent
settings = modal_settings(default=ROOT/"configs"/"cloud"/"modal.yaml")
image = modal_image(settings, ROOT)
app = modal.App(settings.app_name)

@app.function(**function_options(settings, "train", image=image))
def train(config_yaml: str, run_name: str, overrides: list = None) -> dict:
    "Train (or resume after a retry) the config; the run directory lands in the runs volume."
    return train_run(config_yaml, run_name, overrides, runs_volume=settings.runs_volume)

@app.function(**function_options(settings, "evaluate", image=image))
def evaluate(config_yaml: str, run_name: str, limit: int = None) -> str:
    "Evaluate base vs. the trained adapter on the config's test set; the before/after table."
    return evaluate_run(config_yaml, run_name, limit, runs_volume=settings.runs_volume)

def serve_app_for(adapters=None):
    "The ASGI app serving `adapters` (default: the settings' serve_adapters)."
    return serve_app(list(adapters or settings.serve_adapters))

@app.function(**function_options(settings, "serve", image=image))
@modal.concurrent(max_inputs=16)
@modal.asgi_app()
def serve():
    "ft_nb's OpenAI-compatible server (/v1/chat/completions, /v1/completions, /v1/models) as a web endpoint."
    return serve_app_for()

@app.local_entrypoint()
def main(config: str, run_name: str = "", evaluate_after: bool = True, limit: int = 0):
    "Read CONFIG here, train it on Modal, then print the before/after table."
    text = Path(config).read_text()
    name = run_name or Path(config).stem
    print(train.remote(text, name))
    if evaluate_after: print(evaluate.remote(text, name, limit or None))
