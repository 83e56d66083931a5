#!/usr/bin/env node
// Writes catalog/aws.csv and catalog/gcp.csv (gpuhunt's v2 CSV format) from the tables below, so the shipped rows
// stay reviewable: one line per instance shape, its on-demand list price in a base region, the regions or zones
// that sell it. The CSVs are what ships; rerun this after editing a table (`node catalog/generate.mjs`), then bump
// catalog/<provider>.version. Prices are public list prices as known when written (see README.md), not fetched.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIR = fileURLToPath(new URL('.', import.meta.url));
export const HEADER = 'instance_name,location,price,cpu,memory,gpu_count,gpu_name,gpu_memory,spot,disk_size,gpu_vendor,flags,cpu_arch,provider_data';

// --- AWS: on-demand Linux prices in us-east-1; other regions scale by their usual premium. ---
const AWS_REGIONS = { 'us-east-1': 1, 'us-east-2': 1, 'us-west-2': 1, 'eu-west-1': 1.115, 'eu-central-1': 1.2, 'ap-northeast-1': 1.3 };
const ALL = Object.keys(AWS_REGIONS);
const NO_EU_WEST = ALL.filter((r) => r !== 'eu-west-1');

// [name, vCPUs, memory GiB, GPUs, price $/h]
const AWS_FAMILIES = [
  { gpu: undefined, arch: 'x86', regions: ALL, types: [
    ['t3.large', 2, 8, 0, 0.0832], ['t3.xlarge', 4, 16, 0, 0.1664], ['t3.2xlarge', 8, 32, 0, 0.3328],
    ['m5.large', 2, 8, 0, 0.096], ['m5.xlarge', 4, 16, 0, 0.192], ['m5.2xlarge', 8, 32, 0, 0.384], ['m5.4xlarge', 16, 64, 0, 0.768], ['m5.8xlarge', 32, 128, 0, 1.536],
    ['c5.xlarge', 4, 8, 0, 0.17], ['c5.2xlarge', 8, 16, 0, 0.34], ['c5.4xlarge', 16, 32, 0, 0.68], ['c5.9xlarge', 36, 72, 0, 1.53],
  ] },
  { gpu: undefined, arch: 'arm', regions: ALL, types: [['m7g.xlarge', 4, 16, 0, 0.1632], ['m7g.2xlarge', 8, 32, 0, 0.3264], ['m7g.4xlarge', 16, 64, 0, 0.6528]] },
  { gpu: ['T4', 16], arch: 'x86', regions: ALL, types: [
    ['g4dn.xlarge', 4, 16, 1, 0.526], ['g4dn.2xlarge', 8, 32, 1, 0.752], ['g4dn.4xlarge', 16, 64, 1, 1.204], ['g4dn.8xlarge', 32, 128, 1, 2.176],
    ['g4dn.12xlarge', 48, 192, 4, 3.912], ['g4dn.16xlarge', 64, 256, 1, 4.352], ['g4dn.metal', 96, 384, 8, 7.824],
  ] },
  { gpu: ['A10G', 24], arch: 'x86', regions: ALL, types: [
    ['g5.xlarge', 4, 16, 1, 1.006], ['g5.2xlarge', 8, 32, 1, 1.212], ['g5.4xlarge', 16, 64, 1, 1.624], ['g5.8xlarge', 32, 128, 1, 2.448],
    ['g5.12xlarge', 48, 192, 4, 5.672], ['g5.16xlarge', 64, 256, 1, 4.096], ['g5.24xlarge', 96, 384, 4, 8.144], ['g5.48xlarge', 192, 768, 8, 16.288],
  ] },
  { gpu: ['L4', 24], arch: 'x86', regions: NO_EU_WEST, types: [
    ['g6.xlarge', 4, 16, 1, 0.8048], ['g6.2xlarge', 8, 32, 1, 0.9776], ['g6.4xlarge', 16, 64, 1, 1.3232], ['g6.8xlarge', 32, 128, 1, 2.0144],
    ['g6.12xlarge', 48, 192, 4, 4.6016], ['g6.16xlarge', 64, 256, 1, 3.3968], ['g6.24xlarge', 96, 384, 4, 6.6752], ['g6.48xlarge', 192, 768, 8, 13.3504],
  ] },
  { gpu: ['L40S', 48], arch: 'x86', regions: NO_EU_WEST, types: [
    ['g6e.xlarge', 4, 32, 1, 1.861], ['g6e.2xlarge', 8, 64, 1, 2.24208], ['g6e.4xlarge', 16, 128, 1, 3.00424], ['g6e.8xlarge', 32, 256, 1, 4.52856],
    ['g6e.12xlarge', 48, 384, 4, 10.49264], ['g6e.16xlarge', 64, 512, 1, 7.57719], ['g6e.24xlarge', 96, 768, 4, 15.06559], ['g6e.48xlarge', 192, 1536, 8, 30.13118],
  ] },
  { gpu: ['V100', 16], arch: 'x86', regions: ALL, types: [['p3.2xlarge', 8, 61, 1, 3.06], ['p3.8xlarge', 32, 244, 4, 12.24], ['p3.16xlarge', 64, 488, 8, 24.48]] },
  { gpu: ['V100', 32], arch: 'x86', regions: ['us-east-1', 'us-west-2', 'ap-northeast-1'], types: [['p3dn.24xlarge', 96, 768, 8, 31.212]] },
  { gpu: ['A100', 40], arch: 'x86', regions: ['us-east-1', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-northeast-1'], types: [['p4d.24xlarge', 96, 1152, 8, 21.96]] },
  { gpu: ['A100', 80], arch: 'x86', regions: ['us-east-1', 'us-west-2'], types: [['p4de.24xlarge', 96, 1152, 8, 27.447]] },
  { gpu: ['H100', 80], arch: 'x86', regions: ['us-east-1', 'us-east-2', 'us-west-2', 'ap-northeast-1'], types: [['p5.48xlarge', 192, 2048, 8, 55.04]] },
];

// --- GCP: on-demand prices in us-central1 (machine + attached GPUs); zones of a region share its price. ---
const GCP_REGIONS = { 'us-central1': 1, 'us-east1': 1, 'us-east4': 1.126, 'us-west1': 1, 'us-west4': 1.126, 'europe-west4': 1.1, 'asia-east1': 1.16 };
const GCP_ZONES = {
  'us-central1': 'abcf', 'us-east1': 'bcd', 'us-east4': 'abc', 'us-west1': 'ab', 'us-west4': 'abc', 'europe-west4': 'abc', 'asia-east1': 'abc',
};
const zones = (spec) => spec.split(' ').flatMap((s) => {
  const [region, letters] = s.split(':');
  return [...letters].map((l) => `${region}-${l}`);
});
const EVERY_ZONE = Object.entries(GCP_ZONES).flatMap(([r, l]) => [...l].map((x) => `${r}-${x}`));
const N1 = { 'n1-standard-4': [4, 15, 0.189999], 'n1-standard-8': [8, 30, 0.379998], 'n1-standard-16': [16, 60, 0.759996], 'n1-standard-32': [32, 120, 1.519992], 'n1-standard-64': [64, 240, 3.039984] };
const n1 = (machine, count, perGpu) => {
  const [cpu, mem, price] = N1[machine];
  return [machine, cpu, mem, count, price + count * perGpu];
};

const GCP_FAMILIES = [
  { gpu: undefined, zones: EVERY_ZONE, types: [
    ['e2-standard-2', 2, 8, 0, 0.067006], ['e2-standard-4', 4, 16, 0, 0.134012], ['e2-standard-8', 8, 32, 0, 0.268024], ['e2-standard-16', 16, 64, 0, 0.536048],
    ['n2-standard-4', 4, 16, 0, 0.194236], ['n2-standard-8', 8, 32, 0, 0.388472], ['n2-standard-16', 16, 64, 0, 0.776944], ['n2-standard-32', 32, 128, 0, 1.553888],
  ] },
  { gpu: ['L4', 24], accelerator: 'nvidia-l4', zones: zones('us-central1:abc us-east1:bcd us-east4:ac us-west1:ab us-west4:ac europe-west4:abc asia-east1:ac'), types: [
    ['g2-standard-4', 4, 16, 1, 0.706832], ['g2-standard-8', 8, 32, 1, 0.853624], ['g2-standard-12', 12, 48, 1, 1.000416], ['g2-standard-16', 16, 64, 1, 1.147208],
    ['g2-standard-24', 24, 96, 2, 2.000832], ['g2-standard-32', 32, 128, 1, 1.734376], ['g2-standard-48', 48, 192, 4, 4.001664], ['g2-standard-96', 96, 384, 8, 8.003328],
  ] },
  { gpu: ['A100', 40], accelerator: 'nvidia-tesla-a100', zones: zones('us-central1:abcf us-east1:b us-west1:b us-west4:b europe-west4:ab asia-east1:c'), types: [
    ['a2-highgpu-1g', 12, 85, 1, 3.673385], ['a2-highgpu-2g', 24, 170, 2, 7.34677], ['a2-highgpu-4g', 48, 340, 4, 14.69354], ['a2-highgpu-8g', 96, 680, 8, 29.38708],
    ['a2-megagpu-16g', 96, 1360, 16, 55.739652],
  ] },
  { gpu: ['A100', 80], accelerator: 'nvidia-a100-80gb', zones: zones('us-central1:ac us-east4:c europe-west4:a'), types: [
    ['a2-ultragpu-1g', 12, 170, 1, 5.068822], ['a2-ultragpu-2g', 24, 340, 2, 10.137644], ['a2-ultragpu-4g', 48, 680, 4, 20.275288], ['a2-ultragpu-8g', 96, 1360, 8, 40.550576],
  ] },
  { gpu: ['H100', 80], accelerator: 'nvidia-h100-80gb', zones: zones('us-central1:ac us-east4:abc us-west4:a europe-west4:bc'), types: [['a3-highgpu-8g', 208, 1872, 8, 88.249136]] },
  { gpu: ['T4', 16], accelerator: 'nvidia-tesla-t4', zones: zones('us-central1:abcf us-east1:cd us-east4:abc us-west1:ab us-west4:ab europe-west4:abc asia-east1:abc'), types: [
    n1('n1-standard-4', 1, 0.35), n1('n1-standard-8', 1, 0.35), n1('n1-standard-16', 1, 0.35), n1('n1-standard-16', 2, 0.35), n1('n1-standard-32', 4, 0.35),
  ] },
  { gpu: ['V100', 16], accelerator: 'nvidia-tesla-v100', zones: zones('us-central1:abcf us-east1:c us-west1:ab europe-west4:abc asia-east1:c'), types: [
    n1('n1-standard-8', 1, 2.48), n1('n1-standard-16', 2, 2.48), n1('n1-standard-32', 4, 2.48), n1('n1-standard-64', 8, 2.48),
  ] },
];

/** Spot/preemptible price as a share of on-demand (30–40 %), fixed per shape and place so reruns give the same rows. */
function spotShare(key) {
  let h = 2166136261;
  for (const c of key) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return 0.3 + (h % 1000) / 10000;
}
// The seeds' plan row (`gcp us-central1 g2-standard-4 … spot $0.2238`) is GCP's published spot price.
const SPOT_OVERRIDES = { 'gcp/g2-standard-4/us-central1': 0.2238 };

// List prices keep their published digits; derived ones (other regions, spot) get the 4 decimals AWS quotes.
const money = (n, derived) => String(Number(n.toFixed(derived ? 4 : 6)));
const quote = (v) => (/[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);

function row(t, location, price, derived, spot, family, arch, providerData) {
  const [name, cpu, mem, count] = t;
  const gpu = count > 0 ? family.gpu : undefined;
  return [name, location, money(price, derived || spot), cpu, mem, count, gpu?.[0] ?? '', gpu?.[1] ?? '', spot ? 'True' : 'False', '', gpu ? 'nvidia' : '', '', arch, providerData ? JSON.stringify(providerData) : '']
    .map((v) => quote(String(v)))
    .join(',');
}

function awsRows() {
  const out = [];
  for (const family of AWS_FAMILIES) {
    for (const t of family.types) {
      for (const region of family.regions) {
        const price = t[4] * AWS_REGIONS[region];
        out.push(row(t, region, price, AWS_REGIONS[region] !== 1, false, family, family.arch));
        out.push(row(t, region, price * spotShare(`aws/${t[0]}/${region}`), true, true, family, family.arch));
      }
    }
  }
  return out;
}

function gcpRows() {
  const out = [];
  for (const family of GCP_FAMILIES) {
    for (const t of family.types) {
      const data = family.accelerator ? { accelerator_type: family.accelerator, accelerator_count: t[3] } : undefined;
      for (const zone of family.zones) {
        const region = zone.slice(0, zone.lastIndexOf('-'));
        const price = t[4] * GCP_REGIONS[region];
        const key = `gcp/${t[0]}/${region}`;
        out.push(row(t, zone, price, GCP_REGIONS[region] !== 1, false, family, 'x86', data));
        out.push(row(t, zone, SPOT_OVERRIDES[key] ?? price * spotShare(`${key}/${t[3]}`), true, true, family, 'x86', data));
      }
    }
  }
  return out;
}

for (const [provider, rows] of [['aws', awsRows()], ['gcp', gcpRows()]]) {
  writeFileSync(join(DIR, `${provider}.csv`), `${HEADER}\n${rows.join('\n')}\n`);
  console.error(`catalog/${provider}.csv: ${rows.length} rows`);
}
