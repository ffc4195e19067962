"""Open the colorgan web app: drop photos in a browser page, compare before and after, download the colors.

It colorizes exactly as ``colorgan colorize`` does (full resolution, the photo's own lightness, EXIF
orientation, every skipped file named), with the generator shipped with colorgan unless --model
names another. The page is served on this computer only (127.0.0.1) unless --host says otherwise.
Stop it with Ctrl+C.
"""

import sys

HELP = "open the web app: drop photos in a browser, compare before/after, download the colors"


def add_arguments(parser):
    parser.add_argument("--model", default=None, metavar="PATH_OR_URL",
                        help="generator .keras file, or URL#sha256=<hex> (default: the generator shipped with colorgan)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to serve on (default: 127.0.0.1, this computer only; 0.0.0.0: your network)")
    parser.add_argument("--port", type=int, default=None, help="port (default: the first free one from 7860)")
    parser.add_argument("--share", action="store_true",
                        help="also make a temporary public link through Gradio's share servers (off by default)")


def run(args):
    from colorgan import app

    try:
        page = app.launch(args.model, host=args.host, port=args.port, share=args.share, quiet=True,
                          prevent_thread_lock=True)
    except ValueError as error:  # ModelError, a bad URL or checksum included
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"colorgan app: open {page.local_url} in your browser"
          + (f" (public link: {page.share_url})" if page.share_url else "") + "; Ctrl+C stops it", flush=True)
    page.block_thread()
    return 0
