"""Which epoch becomes generator.keras: the selection rule, and the stage that records its choice."""

import json

import numpy as np

from colorgan import runs, selection


def history(psnr, colorfulness, truth=40.0):
    return {"val_psnr": np.array(psnr, float), "val_colorfulness": np.array(colorfulness, float),
            "val_colorfulness_truth": np.full(len(psnr), truth)}


def test_the_rule_picks_the_best_psnr_among_colorful_epochs():
    # Epoch 1 has the best PSNR but is sepia (10 < 0.5 x 40); epoch 3 is the best colorful one.
    assert selection.choose_epoch(history([22.0, 23.5, 21.0, 22.4, 22.1], [5, 10, 30, 25, 19])) == 3


def test_the_rule_falls_back_to_fidelity_when_no_epoch_is_colorful():
    assert selection.choose_epoch(history([22.0, 23.5, 21.0], [5, 10, 12])) == 1


def test_the_rule_ignores_epochs_before_the_last_phase():
    assert selection.choose_epoch(history([30.0, 22.0, 21.0], [30, 25, 25]), first_epoch=1) == 1


def test_only_the_last_phase_competes_when_an_adversarial_phase_follows():
    assert selection.first_competing_epoch({"warmup_epochs": 3, "critic_epochs": 2, "epochs": 10}) == 5
    assert selection.first_competing_epoch({"warmup_epochs": 10, "critic_epochs": 0, "epochs": 10}) == 0  # no GAN


def test_select_records_the_epoch_the_rule_picks(tmp_path, capsys):
    runs.write_config(tmp_path, {"warmup_epochs": 1, "critic_epochs": 0, "epochs": 4})
    (tmp_path / runs.HISTORY_NAME).write_text("epoch,val_psnr,val_colorfulness,val_colorfulness_truth\n"
                                              "0,30.0,30,40\n1,22.0,10,40\n2,21.0,25,40\n3,21.5,15,40\n")
    record = selection.select(tmp_path)
    assert (record["epoch"], record["of"], record["colorful"]) == (3, 4, True)  # the warm-up's 30 dB does not compete
    assert json.loads((tmp_path / runs.SELECTION_NAME).read_text()) == record and record["rule"] == selection.RULE
    assert "generator.keras is epoch 3 of 4" in capsys.readouterr().out
