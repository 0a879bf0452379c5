// Bundles the picker (OpenLayers + proj4) into gis_service/static/dist/ at install time; nothing is fetched at run time.
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}gis_service/static/dist`;

// Chunk names carry a hash: old chunks would pile up without a clean start.
rmSync(outdir, { recursive: true, force: true });

await esbuild.build({
  absWorkingDir: root,
  entryPoints: {
    embed: 'frontend/src/embed.js',
    'demo-host': 'frontend/src/demo-host.js',
    ol: 'frontend/src/ol.css',
  },
  outdir,
  bundle: true,
  splitting: true, // the map code loads only on pages that have a map
  format: 'esm',
  target: ['es2020'],
  minify: true,
  chunkNames: 'chunks/[name]-[hash]',
  legalComments: 'linked',
  logLevel: 'warning',
});
