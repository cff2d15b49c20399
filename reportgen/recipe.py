"""How a run was trained, in the words the pages use: one source for the Training page's settings
table, the model card and the Dataset page's preprocessing, so no page describes the study's
recipe when the build ran another."""

from __future__ import annotations

from typing import Any

from reportgen.formatting import fmt_counted

# One sentence per network, keyed by its class name (results.json's model.name).
ARCHITECTURES = {
    "StudyCNN": (
        "Four 3×3 convolutions without padding, each followed by batch normalisation and ReLU, "
        "with 2×2 max-pooling after the second and fourth, then three fully connected layers."
    ),
    "WideCNN": (
        "A wider VGG-style network than the study's: three blocks of two padded 3×3 convolutions "
        "with batch normalisation and ReLU, max-pooling between blocks, global average pooling "
        "and one dense layer."
    ),
}

# What each --select-epoch choice scores epochs on.
SELECTION_METRICS = {
    "val_auc": "validation AUC",
    "val_balanced_accuracy": "validation balanced accuracy",
}

TTA_VIEWS = 8  # the dihedral group: 4 rotations, each with and without a flip
TTA_WORDS = f"test-time augmentation over {TTA_VIEWS} flips/rotations"


def architecture(model_name: str) -> str:
    """The sentence describing a network; a network without one is named as it is."""
    return ARCHITECTURES.get(model_name, f"The network {model_name}.")


def optimiser(config: dict[str, Any]) -> str:
    if config["optimizer"] == "adamw":
        words = f"AdamW, learning rate {config['lr']}"
    else:
        words = f"SGD, learning rate {config['lr']}, momentum {config['momentum']}"
    return words + (f", weight decay {config['weight_decay']}" if config["weight_decay"] else "")


def loss(config: dict[str, Any]) -> str:
    words = "cross-entropy"
    if config["loss_weighting"] != "none":
        words += ", class weights: " + config["loss_weighting"].replace("_", " ")
    if config["label_smoothing"]:
        words += f", label smoothing {config['label_smoothing']}"
    return words


def batches(config: dict[str, Any], jitter_kind: str) -> str:
    words = "balanced (minority oversampling)" if config["sampler"] == "balanced" else "shuffled"
    if config["augment"]:
        words += f", augmented (flips, rotations, affine, {jitter_kind} jitter)"
    return words


def selection(config: dict[str, Any], selected_epoch: int) -> str:
    """Which epoch's weights the run kept, and whether it stopped early."""
    if config["select_epoch"] == "last":
        words = "the weights after the last epoch"
    else:
        words = f"the epoch with the best {SELECTION_METRICS[config['select_epoch']]}: "
        words += f"epoch {selected_epoch}"
    if config["patience"] and config["select_epoch"] != "last":
        words += f", early stopping after {config['patience']} epochs without improvement"
    return words


def kept_epoch(select_epoch: str) -> str:
    """Which of its epochs a run keeps, as the end of a sentence: "the last one", ..."""
    if select_epoch == "last":
        return "the last one"
    return f"the one with the best {SELECTION_METRICS[select_epoch]}"


def decision_rule(config: dict[str, Any]) -> str:
    words = (
        "per-class offsets tuned on validation for balanced accuracy"
        if config["threshold_tuning"]
        else "most probable class"
    )
    if config["tta"]:
        words += ", " + TTA_WORDS
    return words


def validation_uses(
    config: dict[str, Any], referral_threshold: bool, variant_configs: list[dict[str, Any]] | None
) -> str:
    """What the validation split decided in this build, as a sentence ending in a full stop.
    variant_configs: each experiment variant's settings (its first run's), where experiments ran."""
    uses = ["to monitor training (the curves)"]
    if config["select_epoch"] != "last":
        uses.append("to choose the epoch whose weights are kept")
    if config["threshold_tuning"]:
        uses.append("to tune the per-class offsets of the decision rule")
    if referral_threshold:
        uses.append(
            "to set the referral threshold on the Results page"
            + (" (and each run's on the Experiments page)" if variant_configs is not None else "")
        )
    if variant_configs is not None:
        uses.append("to choose the recommended variant on the Experiments page")
    configs = variant_configs or []  # an older file's runs may lack a setting: its default
    epochs = sum(other.get("select_epoch", "last") != "last" for other in configs)
    offsets = sum(bool(other.get("threshold_tuning")) for other in configs)
    choices = [
        *([f"the epoch kept by {fmt_counted(epochs, 'variant')}"] if epochs else []),
        *([f"the decision offsets of {fmt_counted(offsets, 'variant')}"] if offsets else []),
    ]
    if choices:
        uses.append("to choose " + " and ".join(choices))
    listed = uses[0] if len(uses) == 1 else ", ".join(uses[:-1]) + " and " + uses[-1]
    return f"Validation images are used only {listed}."


def recipe_view(
    results: dict[str, Any],
    jitter_kind: str,
    variant_configs: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Plain words for how the headline run was trained and decides; variant_configs: the
    settings of each experiment variant, where experiments ran."""
    config = results["config"]
    ensemble = config.get("ensemble", 1)
    return {
        "architecture": architecture(results["model"]["name"]),
        "optimiser": optimiser(config),
        "loss": loss(config),
        "batches": batches(config, jitter_kind),
        "selection": selection(config, results["selection"]["selected_epoch"]),
        "decision_rule": decision_rule(config),
        "ensemble": ensemble,
        "tta": TTA_WORDS if config["tta"] else None,  # how test images are also seen
        "validation_uses": validation_uses(
            config, results.get("referral_operating_point") is not None, variant_configs
        ),
    }
