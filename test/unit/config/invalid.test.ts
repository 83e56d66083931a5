// Table of invalid configurations: each gives its exact `line:col key.path: message` (every problem at once).
// The document is `type: service` + `port: 8000` + `commands: [...]` + the case (minus the key the case is about).
import { describe, expect, test } from 'vitest';
import { parseConfigText } from '../../../src/core/config/load.js';
import { ConfigError } from '../../../src/core/config/problems.js';

const doc = (c: string) =>
  c.startsWith('port')
    ? `type: service\ncommands: [python app.py]\n${c}\n`
    : c.startsWith('commands') || c.startsWith('groups')
      ? `type: service\nport: 8000\n${c}\n`
      : `type: service\nport: 8000\ncommands: [python app.py]\n${c}\n`;

const CASES: [string, string][] = [
  ["replica: 2", "4:1 replica: unknown field `replica`; did you mean `replicas`?"],
  ["replicas: 2.5", "4:11 replicas: expected an integer, got the number 2.5"],
  ["replicas: \"2..\"", "4:11 replicas: The maximum number of replicas is required"],
  ["replicas: \"3..1\"", "4:11 replicas: invalid replicas range: the minimum is greater than the maximum"],
  ["replicas: 1..4", "4:11 replicas: When you set `replicas` to a range, ensure to specify `scaling`."],
  ["scaling: {metric: rps, target: 1}", "4:10 scaling: To use `scaling`, `replicas` must be set to a range."],
  ["replicas: 0..2\nscaling: {metric: cpu, target: 1}", "5:19 scaling.metric: expected `rps`, got `cpu`; did you mean `rps`?"],
  ["replicas: 0..2\nscaling: {metric: rps, target: 0}", "5:32 scaling.target: must be greater than 0"],
  ["replicas: 0..2\nscaling: {metric: rps, target: 1, window: 45s}", "5:43 scaling.window: must be `30s`, `60s` or `300s`"],
  ["replicas: 0..2\nscaling: {metric: rps, target: 1, scale_up_delay: 5 minutes}", "5:51 scaling.scale_up_delay: invalid duration `5 minutes`; expected seconds or a number with s, m, h, d or w (e.g. `30s`, `5m`, `1h`)"],
  ["port: \"*:8000\"", "3:7 port: `*` is not allowed for a service port; expected `8000` or `LOCAL:CONTAINER` like `8080:8000`"],
  ["port: 70000", "3:7 port: must be 1..65535"],
  ["port: {container_port: 8000, local: 80}", "3:30 port.local: unknown field `local`; did you mean `local_port`?"],
  ["model: {name: m, format: vllm}", "4:26 model.format: expected `format` to be `openai` or `tgi`"],
  ["model: {name: m, format: tgi, prefix: /v1}", "4:31 model.prefix: unknown field `prefix`"],
  ["auth: \"yes\"", "4:7 auth: expected `true` or `false`, got `yes`"],
  ["https: maybe", "4:8 https: expected `true`, `false` or `auto`"],
  ["strip_prefix: 1", "4:15 strip_prefix: expected `true` or `false`, got the number 1"],
  ["probes: [{url: health}]", "4:16 probes[0].url: must start with `/`"],
  ["probes: [{method: get, body: \"{}\"}]", "4:30 probes[0].body: `body` is not allowed with method `get`"],
  ["probes: [{timeout: 0}]", "4:20 probes[0].timeout: must be at least 1s"],
  ["probes: [{interval: 1x}]", "4:21 probes[0].interval: invalid duration `1x`; expected seconds or a number with s, m, h, d or w (e.g. `30s`, `5m`, `1h`)"],
  ["probes: [{headers: [{name: \"bad header\", value: x}]}]", "4:28 probes[0].headers[0].name: invalid header name"],
  ["probes: [{ready_after: 0}]", "4:24 probes[0].ready_after: must be at least 1"],
  ["rate_limits: [{rps: 0.001}]", "4:21 rate_limits[0].rps: must be at least 1/60 (one request per minute)"],
  ["rate_limits: [{prefix: /a, rps: 1}, {prefix: /a, rps: 2}]", "4:46 rate_limits[1].prefix: duplicate rate limit prefix `/a`"],
  ["rate_limits: [{rps: 1, key: {type: cookie}}]", "4:36 rate_limits[0].key.type: expected `type` to be `ip_address` or `header`"],
  ["resources: {gpu: \"A100:2:4\"}", "4:18 resources.gpu: invalid GPU spec `A100:2:4`: count is given twice"],
  ["resources: {gpu: {name: A100, cnt: 2}}", "4:31 resources.gpu.cnt: unknown field `cnt`; did you mean `count`?"],
  ["resources: {gpu: {vendor: nvidea}}", "4:27 resources.gpu.vendor: unknown GPU vendor `nvidea`; expected nvidia, amd, intel, google (tpu) or tenstorrent (tt)"],
  ["resources: {cpu: \"z:4\"}", "4:18 resources.cpu: unknown CPU architecture `z`; expected x86 or arm"],
  ["resources: {memory: 8XB}", "4:21 resources.memory: invalid size `8XB`; expected a number with MB, GB or TB (e.g. `8GB`)"],
  ["resources: {memory: \"16GB..8GB\"}", "4:21 resources.memory: invalid size range: the minimum is greater than the maximum"],
  ["resources: {disk: \"..\"}", "4:19 resources.disk: invalid range `..`; expected `min..max`, `min..` or `..max`"],
  ["resources: {shm_size: lots}", "4:23 resources.shm_size: invalid size `lots`; expected a number with MB, GB or TB (e.g. `8GB`)"],
  ["resources: {gpus: 1}", "4:13 resources.gpus: unknown field `gpus`; did you mean `gpu`?"],
  ["env: [HF_TOKEN, HF_TOKEN=x]", "4:17 env[1]: duplicate environment variable `HF_TOKEN`"],
  ["env: {A: null}", "4:10 env.A: expected a string value for `A`; give a value or use the list form `- KEY` for a required variable"],
  ["env: [\"1BAD=x\"]", "4:7 env[0]: invalid environment variable name `1BAD`; expected letters, digits and `_`, not starting with a digit"],
  ["env: {A: true}", "4:10 env.A: expected a string value for `A` (quote it)"],
  ["python: \"3.8\"", "4:9 python: unsupported Python version; expected one of 3.9, 3.10, 3.11, 3.12, 3.13, 3.14"],
  ["python: 3.1\nimage: ubuntu", "4:9 python: `image` and `python` are mutually exclusive fields"],
  ["nvcc: true\nimage: ubuntu", "4:7 nvcc: `image` and `nvcc` are mutually exclusive fields"],
  ["docker: true\npython: \"3.12\"", "4:9 docker: `docker` and `python` are mutually exclusive fields"],
  ["volumes: [\"data\"]", "4:11 volumes[0]: invalid volume `data`; expected `volume-name:/container/path` or `/instance/path:/container/path`"],
  ["volumes: [\"vol:relative\"]", "4:11 volumes[0]: invalid volume `vol:relative`: `relative` must be an absolute path without `..`"],
  ["volumes: [{path: /data}]", "4:11 volumes[0]: a volume needs exactly one of `name` (network volume) or `instance_path` (instance volume)"],
  ["retry: {on_events: []}", "4:20 retry.on_events: at least one event is required; omit `on_events` to retry on all events"],
  ["retry: {on_events: [oom]}", "4:21 retry.on_events[0]: expected one of `no-capacity`, `interruption`, `error`, got `oom`"],
  ["retry: \"yes\"", "4:8 retry: expected `true`, `false` or an object with `on_events` and `duration`"],
  ["max_duration: 2 hours", "4:15 max_duration: invalid duration `2 hours`; expected seconds or a number with s, m, h, d or w (e.g. `30s`, `5m`, `1h`)"],
  ["idle_duration: -5", "4:16 idle_duration: invalid duration `-5`; expected seconds or a number with s, m, h, d or w (e.g. `30s`, `5m`, `1h`)"],
  ["stop_duration: 5x", "4:16 stop_duration: invalid duration `5x`; expected seconds or a number with s, m, h, d or w (e.g. `30s`, `5m`, `1h`)"],
  ["max_price: -1", "4:12 max_price: must be greater than 0"],
  ["creation_policy: create", "4:18 creation_policy: expected one of `reuse`, `reuse-or-create`, got `create`"],
  ["spot_policy: spott", "4:14 spot_policy: expected one of `spot`, `on-demand`, `auto`, got `spott`; did you mean `spot`?"],
  ["name: My_Service", "4:7 name: must start with a lowercase letter and contain only lowercase letters, digits and `-` (2..41 characters)"],
  ["priority: 101", "4:11 priority: must be at most 100"],
  ["repos: [a, b]", "4:8 repos: at most one repo is supported"],
  ["files: [{path: /x}]", "4:9 files[0].local_path: `local_path` is required"],
  ["registry_auth: {username: u}", "4:16 registry_auth.password: `password` is required"],
  ["utilization_policy: {min_gpu_utilization: 50, time_window: 1m}", "4:60 utilization_policy.time_window: must be at least 5m"],
  ["schedule: {cron: 5}", "4:18 schedule.cron: expected a cron expression or a list of them"],
  ["commands: \"python app.py\"", "3:11 commands: expected a list, got `python app.py`"],
  ["port: \"80:x\"", "3:7 port: invalid port `80:x`; expected `8000` or `LOCAL:CONTAINER` like `8080:8000`"],
  ["groups: [{name: a, commands: [x]}, {name: a, image: img}]", "3:43 groups[1].name: duplicate replica group name `a`"],
  ["groups: [{replicas: 1..2, commands: [x]}]", "3:21 groups[0].replicas: When you set `replicas` to a range, ensure to specify `scaling`."],
  ["replicas: 2\ngroups: [{commands: [x]}]", "3:11 commands: with replica groups, set `commands` in each group\ns.yml:5:9 groups: `replicas` and `groups` are mutually exclusive; set `replicas` in each group"],
];

describe('invalid service configurations', () => {
  test('the table has at least 40 cases', () => expect(CASES.length).toBeGreaterThanOrEqual(40));
  test.each(CASES)('%s', (yaml, expected) => {
    let error: unknown;
    try {
      parseConfigText(doc(yaml), 's.yml');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('CONFIG_INVALID');
    expect((error as ConfigError).message).toBe(`s.yml:${expected}`);
  });
});
