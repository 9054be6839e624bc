// Builds the console (index.html) and GraphiQL (graphiql.html) into dist/console, which
// web/embed.go embeds into the binary. Everything is bundled: nothing is fetched at run time.
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const page = (name: string) => fileURLToPath(new URL(name, import.meta.url));

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist/console',
    emptyOutDir: true,
    // No asset becomes a data: URL inside CSS or JS; every file is served from /assets/.
    assetsInlineLimit: 0,
    // The polyfill would be an inline script, which the Content-Security-Policy forbids.
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      input: { index: page('index.html'), graphiql: page('graphiql.html') },
      // GraphiQL's dependencies mark modules "use client" for React server components,
      // which a browser bundle has no use for.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
  worker: { format: 'es' },
});
