"""Validation only: does the average of v0.2's and enc128_bn's ab reach issue 17's bar (+0.5 dB, -1.0 CIEDE2000)?"""
import json, sys
import keras
from colorgan import colorizers, models, calibration
from colorgan.data.layout import validation_originals

a = colorizers.load_generator("colorgan/pretrained/generator.keras")
b = colorizers.load_generator(sys.argv[1] if len(sys.argv) > 1 else "models/enc128_bn/generator.keras")
b.name = "encoder_generator"
inp = keras.Input((None, None, 1))
out = keras.layers.Average()([a(inp), b(inp)])
both = keras.Model(inp, out)
both.size_multiple = max(models.size_multiple(a), 32)
print("size multiple", both.size_multiple, flush=True)
photos = calibration.calibration_photos(validation_originals("data/prepared/cpu", []))
print(len(photos), "validation photos", flush=True)
chosen, table = calibration.calibrate_strength(both, photos, margin_db=0.5, margin_ciede=1.0,
                                               working_sizes=[192, 256, 320, 384, 512])
json.dump({"chosen": chosen, "table": table}, open("build/ensemble_val.json", "w"), indent=1)
print("chosen", chosen)
for r in sorted(table, key=lambda r: (r["working_size"], r["gain"])):
    print(r["working_size"], r["gain"], round(r["psnr"] - r["gray_psnr"], 2), round(r["gray_ciede2000"] - r["ciede2000"], 2),
          round(r["colorfulness"], 1), round(r["ab_explained"], 3))
