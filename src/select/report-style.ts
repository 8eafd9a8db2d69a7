/** The report's stylesheet (inline in the page: the report is one self-contained file). */
export const STYLE = `
:root { --kept: #2563eb; --pruned: #cbd2dc; --cut: #dc2626; --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; --bg: #f7f8fa; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1080px; margin: 0 auto; padding: 28px 24px 48px; }
header h1 { font-size: 24px; margin: 0 0 4px; letter-spacing: -0.01em; }
header .sub { color: var(--muted); margin: 0; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 18px 20px; margin-top: 18px; }
.headline { display: flex; flex-wrap: wrap; gap: 28px; align-items: baseline; }
.headline .big { font-size: 34px; font-weight: 650; color: var(--kept); }
.headline .label { color: var(--muted); }
.shares { display: grid; grid-template-columns: repeat(auto-fit, minmax(280px, 1fr)); gap: 18px; margin-top: 14px; }
.share-head { display: flex; justify-content: space-between; gap: 8px; font-size: 14px; }
.share-label { font-weight: 600; }
.share-numbers { color: var(--muted); }
.share-numbers b { color: var(--ink); }
.share-track { height: 12px; background: var(--pruned); border-radius: 6px; overflow: hidden; margin: 6px 0 4px; }
.share-kept { height: 100%; background: var(--kept); }
.share-foot { font-size: 12px; color: var(--muted); }
.dot { display: inline-block; width: 9px; height: 9px; border-radius: 2px; margin: 0 4px 0 8px; vertical-align: baseline; }
.dot:first-child { margin-left: 0; }
.dot.kept { background: var(--kept); } .dot.pruned { background: var(--pruned); }
h2 { font-size: 17px; margin: 0 0 6px; }
.legend { font-size: 13px; color: var(--muted); margin: 0 0 6px; }
.legend .cutkey { display: inline-block; width: 16px; border-top: 2px dashed var(--cut); vertical-align: middle; margin: 0 4px 0 10px; }
svg.histogram { display: block; font-size: 12px; }
svg .bar.kept { fill: var(--kept); } svg .bar.pruned { fill: var(--pruned); }
svg .grid { stroke: #eef0f3; } svg .axis { stroke: #9ca3af; }
svg .tick { fill: var(--muted); } svg .axis-label { fill: var(--ink); font-size: 13px; }
svg .cut { stroke: var(--cut); stroke-width: 2; stroke-dasharray: 6 4; } svg .cut-label { fill: var(--cut); font-weight: 600; }
.formula { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #f3f4f6; border-radius: 6px; padding: 8px 10px; margin: 8px 0; overflow-x: auto; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 8px 0 0; font-size: 14px; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; overflow-wrap: anywhere; }
table { width: 100%; border-collapse: collapse; font-size: 13px; }
th { text-align: left; color: var(--muted); font-weight: 600; border-bottom: 1px solid var(--line); padding: 6px 8px; }
td { border-bottom: 1px solid var(--line); padding: 7px 8px; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.value { font-weight: 600; }
td.where { white-space: nowrap; max-width: 190px; overflow: hidden; text-overflow: ellipsis; }
td.where .id { color: var(--muted); font-size: 12px; }
td.snippet { color: #374151; overflow-wrap: anywhere; }
.badge { display: inline-block; border-radius: 999px; padding: 1px 8px; font-size: 12px; font-weight: 600; }
.badge.kept { background: #dbeafe; color: #1d4ed8; } .badge.pruned { background: #eef0f3; color: #4b5563; }
.muted { color: var(--muted); }
.warnings { border-color: #fcd34d; background: #fffbeb; }
details summary { cursor: pointer; color: var(--muted); }
pre { white-space: pre-wrap; overflow-wrap: anywhere; font-size: 12px; }
footer { color: var(--muted); font-size: 12px; margin-top: 22px; }
h3 { font-size: 15px; margin: 16px 0 6px; }
svg.curve { display: block; font-size: 12px; }
svg .curve-tokens { fill: none; stroke: var(--kept); stroke-width: 2.5; }
svg .curve-documents { fill: none; stroke: #9ca3af; stroke-width: 1.5; stroke-dasharray: 5 4; }
svg .cut-dot { fill: var(--cut); }
.linekey { display: inline-block; width: 18px; vertical-align: middle; margin: 0 4px 0 10px; }
.linekey:first-child { margin-left: 0; }
.linekey.tokens { border-top: 3px solid var(--kept); } .linekey.documents { border-top: 2px dashed #9ca3af; }
.formula-inline { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.mini-track { height: 10px; min-width: 120px; background: var(--pruned); border-radius: 5px; overflow: hidden; }
.mini-kept { height: 100%; background: var(--kept); }
td.bar-cell { width: 160px; vertical-align: middle; }
tr.cut-row td { color: var(--cut); font-weight: 600; border-top: 2px dashed var(--cut); border-bottom: 2px dashed var(--cut); text-align: center; padding: 3px; }
tr.chosen td { background: #eff6ff; font-weight: 600; }
details.quantiles { margin-top: 10px; }
`;
