"""training: trains models with the long-tail loss methods of the seeds and writes checkpoints.

- ``training.data``         long-tail datasets: embedded (MNIST-5k, digits, Gaussian mixture,
                            two-moons), local CIFAR-10/100 and image folders; tensors on the device
- ``training.models``       ResNet-32 (CIFAR), ResNet-50, MLP, small CNN; each exposes its
                            penultimate embedding and linear head
- ``training.methods``      a registry of named recipes (CE, LDAM-DRW, VS+TLA+ADRW, ELM, DRO-LT, ...)
- ``training.schedules``    learning-rate schedules
- ``training.sam``          sharpness-aware minimisation on top of any method
- ``training.config``       ``HParams`` (the run's identity, hashed) and ``RunConfig`` (execution);
                            ``TrainConfig`` is both, flat, for the CLI
- ``training.metrics``      per-class metrics: per-sample values on the device, ``ltbounds.per_class``
                            for the per-class step; ``predict``, ``evaluate_model``
- ``training.loop``         the training loop (GPU-first, CPU fallback), metrics.jsonl
- ``training.checkpoints``  self-describing checkpoints, atomic writes, weights_only loads
- ``training.checkpoint_outputs``  checkpoint -> ``ltbounds.outputs.Outputs`` (rebuilds model and data,
                            records the training loss's ``LossParameters``)
- ``training.distributed``  DDP under torchrun

``training`` imports ``ltbounds.losses``; ``ltbounds`` never imports ``training`` at module level.
"""
