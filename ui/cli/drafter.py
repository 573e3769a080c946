"""`assistant drafter serve`: the reply drafter as its own HTTP service (for a GPU host)."""

from __future__ import annotations

from pathlib import Path

import typer

from ui.cli.common import domain_errors, log, settings

app = typer.Typer(help="The seq2seq reply drafter.", no_args_is_help=True)


@app.command("serve")
@domain_errors
def serve(device: str = typer.Option("cpu", help="cpu, cuda or cuda:N (bf16 on a GPU)."),
          host: str = typer.Option("127.0.0.1", help="Interface to listen on (0.0.0.0 to serve other hosts)."),
          port: int = typer.Option(7870, min=1, max=65535, help="Port."),
          model: str = typer.Option(None, help="A seq2seq folder [default: ASSISTANT_DRAFTER_MODEL, else the "
                                               "registry's active drafter]."),
          max_batch: int = typer.Option(16, min=1, max=256, help="Drafts decoded together at most."),
          max_wait_ms: float = typer.Option(10.0, min=0.0, max=1000.0,
                                            help="How long a request waits for others to share its batch.")) -> None:
    """Serve POST /v1/generate with dynamic batching; point ASSISTANT_DRAFTER_URL of the assistant at it."""
    import uvicorn

    from assistant.drafter_service import create_service
    from assistant.pipeline import Assistant
    from assistant.registry import Registry
    from assistant.seq2seq import Seq2SeqGenerator

    config = settings()
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise typer.BadParameter(f"--device {device}: this torch build sees no GPU (install a CUDA build of "
                                     "torch on this host; see DEVELOPERS.md)")
    folder = Path(model or config.drafter_model) if (model or config.drafter_model) else \
        Registry(config.models_dir).active_folder("drafter")
    generator = Seq2SeqGenerator(folder, Assistant(config).decoding, device=device)
    log(f"Loading the drafter {folder} on {device} ...")
    generator.warm_up()
    log(f"Drafter ready: http://{host}:{port}/v1/generate (max batch {max_batch}, wait {max_wait_ms:g} ms)")
    uvicorn.run(create_service(generator, max_batch=max_batch, max_wait_ms=max_wait_ms), host=host, port=port,
                log_level="warning")
