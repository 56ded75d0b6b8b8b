"""`mobilekit eval` and `mobilekit predict segmentation|depth`."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from mobilekit.cli.common import JsonOpt, QuietOpt, run_command

IMAGE_HELP = ("Photo: PNG, JPEG, TIFF, BMP, WebP or GIF; 8- or 16-bit, read in its EXIF orientation, transparency "
              "on white; at most 100 MP (MOBILEKIT_MAX_IMAGE_PIXELS).")

predict_app = typer.Typer(help="Run a model on your own images.", no_args_is_help=True)


def eval_command(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="Build config YAML (default: the embedded one)."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="Reference model to evaluate (default: the config's trained model)."),
    trust_model: bool = typer.Option(False, "--trust-model", help="Allow layers that deserialize code."),
    json_mode: bool = JsonOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Held-out quality: IoU after one click, boundary F, NoC@85/90 (Xu et al. click protocol), parameters."""

    def action(reporter):
        from mobilekit.pipeline.evaluate import evaluate

        return evaluate(config, model, trust=trust_model, reporter=reporter)

    run_command(action, json_mode, quiet, lambda s: ", ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in s.items()))


@predict_app.command("segmentation")
def predict_segmentation_command(
    model: Path = typer.Option(..., "--model", "-m", help=".keras / SavedModel reference, .tflite, or .mlpackage."),
    image: Path = typer.Option(..., "--image", "-i", help=IMAGE_HELP),
    click: List[str] = typer.Option(..., "--click", help="x,y[,+|-] in pixels of the photo as displayed (EXIF orientation applied); repeat for more clicks (default +)."),
    out: Path = typer.Option(Path("mask.png"), "--out", "-o", help="Mask file, must end in .png (0/255; 16-bit probabilities with --soft); the overlay goes beside it as <name>.overlay.png."),
    soft: bool = typer.Option(False, "--soft", help="Write the probability (16-bit PNG, 0..65535 = 0..1) instead of the thresholded mask."),
    upsample: str = typer.Option("guided", "--upsample", help="How the mask returns to the photo's resolution: guided (edge-aware guided filter on the photo) or bilinear."),
    trust_model: bool = typer.Option(False, "--trust-model", help="Allow layers that deserialize code."),
    json_mode: bool = JsonOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Select an object with clicks and write its mask and an overlay."""

    def action(reporter):
        from mobilekit.pipeline.predict import predict

        extra = {"soft": True} if soft else {}  # passed only when asked for
        return predict("segmentation", model, trust=trust_model, image=image, clicks=click, out=out, upsample=upsample, **extra)

    run_command(action, json_mode, quiet, lambda s: f"mask: {s['mask']}\noverlay: {s['overlay']} (runner: {s['runner']})")


@predict_app.command("depth")
def predict_depth_command(
    model: Path = typer.Option(..., "--model", "-m", help=".keras / SavedModel reference, .tflite, or .mlpackage of the depth family."),
    image: Path = typer.Option(..., "--image", "-i", help=IMAGE_HELP),
    out: Path = typer.Option(Path("depth.png"), "--out", "-o", help="Colourised depth, must end in .png; <name>.depth16.png (uint16 mm) goes beside it."),
    focus: Optional[str] = typer.Option(None, "--focus", help="x,y in pixels of the photo as displayed: the focal point of the depth-of-field effect."),
    bokeh: Optional[Path] = typer.Option(None, "--bokeh", help="Depth-of-field image, must end in .png (needs --focus)."),
    strength: Optional[float] = typer.Option(None, "--strength", help="Blur radius in px per metre from the focal depth (default: automatic)."),
    max_radius: int = typer.Option(12, "--max-radius", help="Largest blur radius in px (0..64)."),
    trust_model: bool = typer.Option(False, "--trust-model", help="Allow layers that deserialize code."),
    json_mode: bool = JsonOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Estimate depth on a photo; with --focus and --bokeh, blur by distance from the tapped depth."""

    def action(reporter):
        from mobilekit.pipeline.predict import predict

        return predict("depth", model, trust=trust_model, image=image, out=out, focus=focus, bokeh=bokeh,
                       strength=strength, max_radius=max_radius)

    run_command(action, json_mode, quiet, lambda s: "\n".join(f"{k}: {v}" for k, v in s.items()))


@predict_app.command("inpaint")
def predict_inpaint_command(
    model: Path = typer.Option(..., "--model", "-m", help=".keras / SavedModel reference, .tflite, or .mlpackage of the inpainting family."),
    image: Path = typer.Option(..., "--image", "-i", help=IMAGE_HELP),
    mask: Path = typer.Option(..., "--mask", help="Lossless PNG of the photo's size (as displayed): white (>= 128) = remove."),
    out: Path = typer.Option(Path("inpainted.png"), "--out", "-o", help="Result, must end in .png; pixels outside the mask are the photo's."),
    highres: str = typer.Option("both", "--highres", help="two-step | shrink | both | crop | resize | none (see docs/inpainting.md)."),
    trust_model: bool = typer.Option(False, "--trust-model", help="Allow layers that deserialize code."),
    json_mode: bool = JsonOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Remove what the mask marks from a photo of any size."""

    def action(reporter):
        from mobilekit.pipeline.predict import predict

        return predict("inpainting", model, trust=trust_model, image=image, mask=mask, out=out, highres=highres)

    run_command(action, json_mode, quiet, lambda s: "\n".join(f"{k}: {v}" for k, v in s.items()))
