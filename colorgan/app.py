"""The colorgan web app: drop photos, see each before and after, turn the color strength, download the colors.

A Gradio page (``colorgan app``, ``make app``, or ``colorgan.app.launch()`` in Jupyter and Colab, where
it shows inline). It colorizes through ``batch.colorize_files``, exactly as ``colorgan colorize`` does:
full resolution, the photo's own lightness, EXIF orientation applied, and every file that is not
colorized named with its reason. Results go to a fresh temporary folder per click; the uploads are
never written to. The page binds to 127.0.0.1 (this computer only) unless a host is given, and
nothing phones home: Gradio's analytics and update check are off and the page uses system fonts.
"""

import os
import tempfile
import zipfile
from pathlib import Path

import cv2

from colorgan import batch, colorizers, images

# Set before Gradio is imported: it reads them at import time (analytics, Hugging Face Hub telemetry).
OFFLINE_ENVIRONMENT = {"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_DISABLE_TELEMETRY": "1",
                       "GRADIO_CHECK_UPDATE": "False"}
HOST = "127.0.0.1"  # this computer only; "0.0.0.0" serves the local network
PREVIEW_SIDE = 1024  # long side of the before/after view and gallery; downloads are full resolution
WORKING_SIZES = (64, 1024, 32)  # the working-size slider: min, max, step (pixels, the long side)
ZIP_NAME = "colorized.zip"
INTRO = ("Drop one or more photos (black-and-white or faded color). Each is colorized at its full resolution "
         "with its own lightness; only the color comes from the network. Photos stay on this computer.")


def import_gradio():
    """Gradio with analytics and update checks off (``pip install 'colorgan[app]'`` when it is missing)."""
    for name, value in OFFLINE_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    try:
        import gradio
    except ImportError:
        raise SystemExit("the web app needs Gradio: pip install 'colorgan[app]' (or pip install gradio)") from None
    return gradio


def preview(rgb, side=PREVIEW_SIDE):
    """uint8 RGB (H, W, 3) shrunk so its long side is at most ``side`` (INTER_AREA: no aliasing)."""
    scale = side / max(rgb.shape[:2])
    if scale >= 1:
        return rgb
    size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def colorize_uploads(colorizer, paths, color_strength=1.0, working_size=None, out_dir=None):
    """Colorize uploaded files into a new folder; returns (report, [(source, destination)], zip path or None).

    ``working_size=None``: the colorizer's own (its calibrated one). The zip holds every colorized photo.
    """
    out_dir = Path(out_dir or tempfile.mkdtemp(prefix="colorgan-app-"))
    report = batch.colorize_files(colorizer, [str(path) for path in paths], out_dir, working_size=working_size,
                                  color_strength=color_strength)
    written = set(report.written)
    pairs = [(Path(path), batch.output_path(Path(path).name, out_dir)) for path in paths]
    pairs = [(source, destination) for source, destination in pairs if destination in written]
    archive = None
    if pairs:
        archive = out_dir / ZIP_NAME
        with zipfile.ZipFile(archive, "w") as bundle:
            for _, destination in pairs:
                bundle.write(destination, destination.name)
    return report, pairs, archive


def status_text(report, pairs):
    """Markdown: how many photos were colorized, then every file that was not, with its reason."""
    lines = [f"Colorized {len(pairs)} of {report.photos} photo{'s' if report.photos != 1 else ''}."]
    lines += [f"- skipped **{Path(path).name}**: {reason}" for path, reason in report.not_read + report.failed]
    return "\n".join(lines)


def before_after(pair):
    """(before, after) previews of one (source, destination) pair, for the slider."""
    source, destination = pair
    return preview(images.read_rgb(source)), preview(images.read_rgb(destination))


def build(colorizer, model_label):
    """The page as a ``gradio.Blocks`` colorizing with ``colorizer``; ``model_label`` says which generator it runs."""
    gr = import_gradio()
    default_size = int(colorizer.working_size)
    with gr.Blocks(title="colorgan", analytics_enabled=False) as page:
        gr.Markdown(f"# colorgan\n{INTRO}")
        pairs_state = gr.State([])
        with gr.Row():
            with gr.Column(scale=1):
                uploads = gr.File(label="Photos", file_count="multiple", type="filepath", elem_id="uploads")
                strength = gr.Slider(0, 2.5, value=1.0, step=0.05, label="Color strength",
                                     info="1: as calibrated, 0: gray, 1.5: half again as strong")
                size = gr.Slider(*WORKING_SIZES[:2], value=default_size, step=WORKING_SIZES[2], label="Working size",
                                 info=f"long side the network sees (this generator's: {default_size} px)")
                run = gr.Button("Colorize", variant="primary", elem_id="colorize")
                status = gr.Markdown(elem_id="status")
            with gr.Column(scale=2):
                slider = gr.ImageSlider(label="Before / after (drag the handle)", type="numpy", interactive=False,
                                        elem_id="before-after")
                gallery = gr.Gallery(label="All results (click one to compare)", columns=6, height=150,
                                     object_fit="contain", allow_preview=False, elem_id="gallery")
                downloads = gr.File(label=f"Download at full resolution ({ZIP_NAME}: all of them)",
                                    file_count="multiple", interactive=False, elem_id="downloads")
        gr.Markdown(f"Generator: {model_label}.")

        def colorize_all(paths, color_strength, working_size):
            if not paths:
                return [], None, [], None, "Drop one or more photos first."
            report, pairs, archive = colorize_uploads(colorizer, paths, color_strength, int(working_size))
            shown = before_after(pairs[0]) if pairs else None
            thumbnails = [(preview(images.read_rgb(destination), 256), destination.name) for _, destination in pairs]
            files = [str(archive)] + [str(destination) for _, destination in pairs] if archive else None
            return pairs, shown, thumbnails, files, status_text(report, pairs)

        def show(pairs, selected: gr.SelectData):
            return before_after(pairs[selected.index])

        controls = dict(fn=colorize_all, inputs=[uploads, strength, size],
                        outputs=[pairs_state, slider, gallery, downloads, status])
        run.click(**controls)
        uploads.upload(**controls)
        strength.release(**controls)
        size.release(**controls)
        gallery.select(show, inputs=pairs_state, outputs=slider)
    return page


def launch(model=None, host=HOST, port=None, share=False, **launch_options):
    """Load the generator (default: the one shipped with colorgan) and serve the page; returns the Blocks.

    In Jupyter and Colab the page shows inline below the cell and the call returns at once (Colab
    also prints a public share link, as Gradio does there). Elsewhere it serves until interrupted
    unless ``prevent_thread_lock=True``.
    """
    gr = import_gradio()
    colorizer = colorizers.load(model)
    label = "the generator shipped with colorgan" if model is None else f"{colorizer.path} ({colorizer.source})"
    page = build(colorizer, label)
    theme = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],  # no Google Fonts request
                              font_mono=["ui-monospace", "monospace"])
    page.launch(server_name=host, server_port=port, share=share or None, theme=theme, **launch_options)
    return page
