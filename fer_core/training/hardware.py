"""What a model was trained on: the CPU and any GPU, as the model card records it."""

from __future__ import annotations

import os
import platform
from datetime import datetime, timezone


def hardware_description() -> str:
    """CPU model and core count, and any GPU: 'Intel(R) Xeon(R) Processor, 2 cores (x86_64)'."""
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    except OSError:
        pass
    host = f"{cpu or 'CPU'}, {os.cpu_count()} cores ({platform.machine()})"
    accelerator = accelerator_description()
    return f"{host}; {accelerator}" if accelerator else host


def accelerator_description() -> str:
    """The GPUs Keras computes on under JAX or PyTorch, e.g. '1x NVIDIA H100 80GB HBM3'; '' on a CPU."""
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        names = [device.device_kind for device in jax.devices() if device.platform == "gpu"]
    elif backend == "torch":
        import torch

        names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    else:  # the TensorFlow this project pins is the CPU build
        names = []
    return f"{len(names)}x {names[0]}" if names else ""


def environment_record() -> dict:
    """When and where a model was made, as its card's ``training`` record ends: the time, the
    hardware, the Keras backend and version."""
    import keras

    return {"finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "hardware": hardware_description(),
            "backend": keras.backend.backend(), "keras": keras.__version__}
