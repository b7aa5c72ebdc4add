#!/usr/bin/python3
"""PyTorch reference for bench/compare.ts: one GAN training iteration on the CPU.

The same networks and the same step as fakeface (src/train/step.ts):
  1. fakes = G(noise) in inference mode (Keras' predict; BatchNorm uses its moving stats);
  2. one Adam step of D on the real batch (label 1), then one on the fakes (label 0);
  3. one Adam step of G through D on fresh noise (target 1); D's weights are frozen
     for it, as fakeface differentiates with respect to G's variables only.
Adam beta1 0.5, binary cross-entropy on sigmoid outputs.

Models:
  mlp     the paper's MLP GAN at 120x120: G 100-256-512-1024-2048-43200 (LeakyReLU 0.2
          + BatchNorm momentum 0.8 after each hidden layer, tanh out), D 43200-1024-512-
          256-1 (LeakyReLU 0.2, sigmoid); Adam lr 1e-4.
  dcgan   DCGAN 64x64 (Radford et al., pytorch/examples' dcgan): G z -> 4x4x512 ->
          8x8x256 -> 16x16x128 -> 32x32x64 -> 64x64x3 (4x4 transposed convolutions,
          BatchNorm + ReLU, tanh), D 4x4 stride-2 convolutions 64-128-256-512
          (BatchNorm + LeakyReLU 0.2) -> 4x4 conv to 1, sigmoid; no biases; Adam lr 2e-4.

Prints one JSON line: {"model", "batch", "msPerIteration" (median), "msMin",
"cpuMsPerIteration" (user + system time of all threads), "peakRssBytes", "threads", "torch"}.

Debian's python3-torch lives under /usr/bin/python3:
  /usr/bin/python3 bench/reference_torch.py --model mlp --batch 128
  GLIBC_TUNABLES=glibc.malloc.hugetlb=1 /usr/bin/python3 bench/reference_torch.py --model dcgan --batch 64
"""
import argparse
import json
import os
import resource
import statistics
import time

import torch
from torch import nn

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--model", choices=["mlp", "dcgan"], default="mlp", help="which GAN")
parser.add_argument("--batch", type=int, default=128, help="images per D step")
parser.add_argument("--iterations", type=int, default=3, help="timed iterations")
parser.add_argument("--burn-in", type=int, default=1, help="untimed iterations first")
parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch intra-op threads")
parser.add_argument("--seed", type=int, default=1, help="random seed")
opt = parser.parse_args()

torch.manual_seed(opt.seed)
torch.set_num_threads(opt.threads)
LATENT = 100


def mlp_gan():
    pixels = 120 * 120 * 3
    layers, width = [], LATENT
    for units in [256, 512, 1024, 2048]:
        # Keras BatchNormalization(momentum=0.8) = torch momentum 0.2; Keras epsilon 1e-3.
        layers += [nn.Linear(width, units), nn.LeakyReLU(0.2), nn.BatchNorm1d(units, momentum=0.2, eps=1e-3)]
        width = units
    generator = nn.Sequential(*layers, nn.Linear(width, pixels), nn.Tanh())
    layers, width = [nn.Flatten()], pixels
    for units in [1024, 512, 256]:
        layers += [nn.Linear(width, units), nn.LeakyReLU(0.2)]
        width = units
    discriminator = nn.Sequential(*layers, nn.Linear(width, 1), nn.Sigmoid())
    return generator, discriminator, (pixels,), 1e-4


def dcgan64():
    ngf = ndf = 64
    generator = nn.Sequential(
        nn.Unflatten(1, (LATENT, 1, 1)),
        nn.ConvTranspose2d(LATENT, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),  # 4x4
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),  # 8x8
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),  # 16x16
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),  # 32x32
        nn.ConvTranspose2d(ngf, 3, 4, 2, 1, bias=False), nn.Tanh(),  # 64x64
    )
    discriminator = nn.Sequential(
        nn.Conv2d(3, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),  # 32x32
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),  # 16x16
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, inplace=True),  # 8x8
        nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8), nn.LeakyReLU(0.2, inplace=True),  # 4x4
        nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid(), nn.Flatten(),
    )
    return generator, discriminator, (3, 64, 64), 2e-4


generator, discriminator, image_shape, lr = mlp_gan() if opt.model == "mlp" else dcgan64()
opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999), eps=1e-7)
opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999), eps=1e-7)
bce = nn.BCELoss()
B = opt.batch
real = torch.rand(B, *image_shape) * 2 - 1
ones, zeros = torch.ones(B, 1), torch.zeros(B, 1)


def train_discriminator(images, labels):
    opt_d.zero_grad(set_to_none=True)
    loss = bce(discriminator(images), labels)
    loss.backward()
    opt_d.step()
    return loss.item()


def iteration():
    generator.eval()
    with torch.no_grad():
        fakes = generator(torch.randn(B, LATENT))
    generator.train()
    train_discriminator(real, ones)
    train_discriminator(fakes, zeros)
    discriminator.requires_grad_(False)
    opt_g.zero_grad(set_to_none=True)
    loss = bce(discriminator(generator(torch.randn(B, LATENT))), ones)
    loss.backward()
    opt_g.step()
    discriminator.requires_grad_(True)
    return loss.item()


for _ in range(opt.burn_in):
    iteration()
times = []
cpu_started = time.process_time()
for _ in range(opt.iterations):
    started = time.perf_counter()
    iteration()
    times.append((time.perf_counter() - started) * 1000)
cpu_ms = (time.process_time() - cpu_started) * 1000 / max(1, opt.iterations)

print(json.dumps({
    "model": opt.model,
    "batch": B,
    "msPerIteration": statistics.median(times),
    "msMin": min(times),
    "cpuMsPerIteration": cpu_ms,
    "peakRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    "threads": torch.get_num_threads(),
    "torch": torch.__version__,
}))
