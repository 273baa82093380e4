/** Bindings of the test worker (wrangler.jsonc). */
declare namespace Cloudflare {
  interface Env {
    TEST_DO: DurableObjectNamespace<import('./worker.ts').TestWorkspaceDO>;
    EXAMPLE_DO: DurableObjectNamespace<import('./worker.ts').WorkspaceDO>;
  }
}
