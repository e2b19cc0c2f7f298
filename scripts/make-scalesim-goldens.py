#!/usr/bin/env python3
"""Golden rows from SCALE-Sim v2 itself, compute and memory side, into test/fixtures/scalesim-memory.csv.

Runs scalesim-project/scale-sim-v2 (its scalesim/ package on PYTHONPATH; Debian: python3-numpy
python3-pandas python3-tqdm python3-absl) over the three dataflows, SRAMs that hold whole operands and
SRAMs that do not, CALC and USER bandwidth (USER low enough to stall), strides and 1x1 layers, and keeps
its COMPUTE_REPORT, BANDWIDTH_REPORT and DETAILED_ACCESS_REPORT columns per layer. The tests read the CSV;
they never need Python.

usage: /usr/bin/python3 scripts/make-scalesim-goldens.py SCALE_SIM_REPO [OUT_CSV]
(SCALESIM_COMMIT names the version where SCALE_SIM_REPO is not a git checkout; these rows: 22f88b1)
"""
import csv
import os
import shutil
import subprocess
import sys
import tempfile

LAYERS = [
    # name, ifmap h, w, filter h, w, channels, filters, stride
    ('conv3x3', 10, 10, 3, 3, 4, 8, 1),
    ('conv3x3_s2', 11, 11, 3, 3, 8, 12, 2),
    ('conv1x1', 6, 6, 1, 1, 16, 24, 1),
    ('conv5x5', 12, 12, 5, 5, 3, 6, 1),
    # the first and third pruned (fewer channels and filters), and a larger layer that swaps many times
    ('conv3x3_pruned', 10, 10, 3, 3, 3, 5, 1),
    ('conv1x1_pruned', 6, 6, 1, 1, 11, 13, 1),
    ('conv3x3_wide', 18, 18, 3, 3, 16, 32, 1),
]
ARRAYS = [(8, 8), (4, 16)]
SRAMS = [('fits', 64), ('small', 1)]  # kB per operand
BANDWIDTHS = [('CALC', 10), ('USER', 2)]
# Whole runs kept as SCALE-Sim wrote them (its .cfg, topology and three report files), for a byte-for-byte
# comparison with `wgprune simulate --mode scalesim --reports`: name, array, dataflow, SRAM kB, bandwidth.
REPORT_RUNS = [
    ('is-4x16-2kB-user3', 4, 16, 'is', 2, 'USER', 3),
    ('ws-8x8-1kB-calc', 8, 8, 'ws', 1, 'CALC', 10),
]


def run(repo, out_dir, rows, cols, dataflow, sram_kb, mode, bandwidth):
    cfg = os.path.join(out_dir, 'run.cfg')
    with open(cfg, 'w') as f:
        f.write('[general]\nrun_name = golden\n\n[architecture_presets]\n'
                f'ArrayHeight: {rows}\nArrayWidth: {cols}\nIfmapSramSzkB: {sram_kb}\nFilterSramSzkB: {sram_kb}\nOfmapSramSzkB: {sram_kb}\n'
                'IfmapOffset: 0\nFilterOffset: 10000000\nOfmapOffset: 20000000\n'
                f'Bandwidth: {bandwidth}\nDataflow: {dataflow}\nMemoryBanks: 1\n\n[run_presets]\nInterfaceBandwidth: {mode}\n')
    topo = os.path.join(out_dir, 'topo.csv')
    with open(topo, 'w') as f:
        f.write('Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n')
        for layer in LAYERS:
            f.write(', '.join(str(v) for v in layer) + ',\n')
    logs = os.path.join(out_dir, 'logs')
    subprocess.run([sys.executable, os.path.join(repo, 'scalesim', 'scale.py'), '-c', cfg, '-t', topo, '-p', logs],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, 'PYTHONPATH': repo})
    run_dir = os.path.join(logs, 'golden')

    def report(name):
        with open(os.path.join(run_dir, name)) as f:
            r = csv.reader(f)
            header = [h.strip() for h in next(r) if h.strip()]
            return [dict(zip(header, (v.strip() for v in row))) for row in r if row]
    return zip(report('COMPUTE_REPORT.csv'), report('BANDWIDTH_REPORT.csv'), report('DETAILED_ACCESS_REPORT.csv'))


def main():
    repo = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'scalesim-memory.csv')
    commit = os.environ.get('SCALESIM_COMMIT') or subprocess.run(['git', '-C', repo, 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout.strip() or 'unknown'
    rows_out = []
    for rows, cols in ARRAYS:
        for dataflow in ('os', 'ws', 'is'):
            for sram_name, sram_kb in SRAMS:
                for mode, bandwidth in BANDWIDTHS:
                    with tempfile.TemporaryDirectory() as tmp:
                        for layer, (compute, bw, access) in zip(LAYERS, run(repo, tmp, rows, cols, dataflow, sram_kb, mode, bandwidth)):
                            rows_out.append({
                                'layer': layer[0], 'ifmap_h': layer[1], 'ifmap_w': layer[2], 'filter_h': layer[3], 'filter_w': layer[4],
                                'channels': layer[5], 'num_filters': layer[6], 'stride': layer[7],
                                'array_rows': rows, 'array_cols': cols, 'dataflow': dataflow, 'sram_kb': sram_kb,
                                'bandwidth_mode': mode, 'bandwidth': bandwidth, **compute, **bw, **access,
                            })
    columns = list(rows_out[0].keys())
    with open(out, 'w', newline='') as f:
        f.write(f'# SCALE-Sim v2 ({commit}) runs by scripts/make-scalesim-goldens.py; LayerID is the row of LAYERS\n')
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        w.writerows(rows_out)
    print(f'{len(rows_out)} rows -> {out}')
    for name, rows, cols, dataflow, sram_kb, mode, bandwidth in REPORT_RUNS:
        target = os.path.join(os.path.dirname(out), 'scalesim-reports', name)
        shutil.rmtree(target, ignore_errors=True)
        os.makedirs(target)
        list(run(repo, target, rows, cols, dataflow, sram_kb, mode, bandwidth))
        for report in ('COMPUTE_REPORT.csv', 'BANDWIDTH_REPORT.csv', 'DETAILED_ACCESS_REPORT.csv'):
            shutil.move(os.path.join(target, 'logs', 'golden', report), os.path.join(target, report))
        shutil.rmtree(os.path.join(target, 'logs'))
        print(f'SCALE-Sim {commit} reports -> {target}')


if __name__ == '__main__':
    main()
