"""Distributed data-parallel smoke training for the platform's sample job (trainingJobs.mnist-ddp in dev).

A small MLP learns MNIST-shaped synthetic data (inputs labelled by a fixed random
"teacher"), so the job needs no dataset download and its loss must fall. It runs
under ``torchrun``: Trainer (or the training operator) supplies the rendezvous
through PET_* variables, one process per GPU. NCCL on GPUs, Gloo on CPU. Rank 0
writes a checkpoint to the shared volume when one is mounted.
"""

import os

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel


def main() -> None:
    cuda = torch.cuda.is_available()
    dist.init_process_group("nccl" if cuda else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device("cuda", local_rank) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)

    gen = torch.Generator().manual_seed(1234)
    inputs = torch.randn(60_000, 28 * 28, generator=gen)
    teacher = torch.randn(28 * 28, 10, generator=gen)
    labels = (inputs @ teacher).argmax(dim=1)
    # Each rank trains on its own shard: that is what data parallelism divides.
    inputs, labels = inputs[rank::world].to(device), labels[rank::world].to(device)

    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(28 * 28, 256), nn.ReLU(), nn.Linear(256, 10)).to(device)
    model = DistributedDataParallel(net, device_ids=[local_rank] if cuda else None)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    steps, batch = int(os.environ.get("TRAIN_STEPS", "300")), 256
    for step in range(steps):
        idx = torch.randint(0, inputs.shape[0], (batch,), device=device)
        loss = loss_fn(model(inputs[idx]), labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 50 == 0 or step == steps - 1:
            mean = loss.detach().clone()
            dist.all_reduce(mean)
            if rank == 0:
                print(f"step {step:4d}  loss {mean.item() / world:.4f}  world {world}", flush=True)

    shared = os.environ.get("SHARED_DIR")
    if rank == 0 and shared:
        out = os.path.join(shared, "checkpoints", os.environ.get("JOB_NAME", "mnist-ddp"))
        os.makedirs(out, exist_ok=True)
        torch.save(model.module.state_dict(), os.path.join(out, "model.pt"))
        print(f"checkpoint written to {out}", flush=True)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
