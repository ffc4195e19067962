"""Split a photo into its CIE Lab channels and save them as a picture (L, a, b and the round trip)."""

HELP = "show a photo's L, a and b channels (the model's input and targets)"


def add_arguments(parser):
    parser.add_argument("image", help="a photo file")
    parser.add_argument("-o", "--output", default="lab.png", help="where to write the PNG panel (default: lab.png)")


def run(args):
    from colorgan import color, images, plots

    rgb = images.read_rgb(args.image)
    lab = color.rgb_to_lab_np(rgb)
    back = color.to_uint8(color.lab_to_rgb_np(lab))
    plots.image_grid([[rgb, *plots.lab_panels(lab), back]],
                     column_titles=["photo", "L", "a", "b", "Lab -> RGB"], cell_size=3, path=args.output)
    print(f"L in [{lab[..., 0].min():.1f}, {lab[..., 0].max():.1f}], a in [{lab[..., 1].min():.1f}, "
          f"{lab[..., 1].max():.1f}], b in [{lab[..., 2].min():.1f}, {lab[..., 2].max():.1f}] -> {args.output}")
    return 0
