"""One validation path for every study configuration: a rule per field, then the relations."""

import dataclasses

import pytest

from bridge_jax.studies._config import Config, LearnConfig, MethodsConfig
from bridge_jax.studies.phase import PhaseConfig

CONFIGS = (Config, LearnConfig, MethodsConfig, PhaseConfig)


@pytest.mark.parametrize("cls", CONFIGS)
def test_every_field_has_a_rule_and_the_defaults_pass(cls):
    assert all(rule is not None for rule in cls.rules().values())
    assert cls.rules().keys() == {f.name for f in dataclasses.fields(cls)}
    assert cls().validate() == cls()
    assert cls.quick().validate() == cls.quick()


@pytest.mark.parametrize(
    ("cls", "change", "message"),
    [
        (Config, dict(trials=0), "trials must be a positive integer, got 0"),
        (Config, dict(trials=2.5), "trials must be a positive integer"),
        (Config, dict(seed=2**64), "seed must be an integer in"),
        (Config, dict(aug_noise=float("nan")), "aug_noise must be finite"),
        (Config, dict(angle=float("inf")), "angle must be finite"),
        (Config, dict(angle=-1.0), "angle must be >= 0"),
        (Config, dict(mask_ratios=(0.5, 1.0)), r"mask_ratios entries must be in \[0, 1\)"),
        (Config, dict(noise_levels=(float("nan"),)), "noise_levels entries must be finite"),
        (Config, dict(image_crop=0.0), r"image_crop must be in \(0, 1\]"),
        (Config, dict(data="mnist"), "data must be one of sparse, digits"),
        (Config, dict(m=80), "m must be <= n"),
        (LearnConfig, dict(learn_lr=0.0), "learn_lr must be > 0"),
        (LearnConfig, dict(unroll=(5,)), "unroll must include T = 10"),
        (MethodsConfig, dict(methods=("simsiam",)), "unknown methods"),
        (MethodsConfig, dict(methods=()), "methods must name at least one method"),
        (MethodsConfig, dict(cs_noise=(0.0,)), "cs_noise entries must be > 0"),
        (PhaseConfig, dict(data=("sparse", "cifar")), "data must be a non-empty subset"),
        (PhaseConfig, dict(n=10), "n must be a square"),
        (PhaseConfig, dict(ratios=()), "ratios must not be empty"),
    ],
)
def test_bad_values_name_the_field(cls, change, message):
    with pytest.raises(ValueError, match=message) as info:
        dataclasses.replace(cls.quick(), **change).validate()
    assert "\n" not in str(info.value)


def test_a_field_without_a_rule_is_a_programming_error():
    @dataclasses.dataclass(frozen=True)
    class Extended(Config):
        extra: int = 1

    with pytest.raises(TypeError, match="Extended.extra has no validation rule"):
        Extended().validate()


# Saved results are found again by the digest of their configuration: a refactoring of the
# configurations that changed a default's digest would make every saved result recompute.
# Update a value here only with a deliberate change of that study's defaults.
DEFAULT_DIGESTS = {
    "Config": "c85ae4d0d20087ae",
    "LearnConfig": "313697ce4dae1324",
    "MethodsConfig": "79b7588e50ed9c5e",
    "TheoremsConfig": "bd58216dd11c8276",
    "ImagingConfig": "4ec63f65d66288c6",
    "PhaseConfig": "b26fb02ffac32b33",
    "SpectraConfig": "7fe553a195c3d73c",
}


def test_default_configurations_keep_their_digests():
    from bridge_jax.studies._config import ImagingConfig, TheoremsConfig
    from bridge_jax.studies.spectra import SpectraConfig

    classes = (*CONFIGS, TheoremsConfig, ImagingConfig, SpectraConfig)
    assert {cls.__name__: cls().digest() for cls in classes} == DEFAULT_DIGESTS
