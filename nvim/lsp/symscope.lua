-- symscope language server for Neovim 0.11+ (`:help lsp-config`).
--
-- With this repository's nvim/ folder on 'runtimepath' (a plugin manager does that), enable it:
--   vim.lsp.enable('symscope')
-- and override what you need, e.g. the command or the model:
--   vim.lsp.config('symscope', { cmd = { '/path/to/venv/bin/symscope', 'lsp' },
--                                init_options = { model = 'default', device = 'auto' } })
--
-- The server gives outlines (documentSymbol), fuzzy + natural-language workspace symbols, call
-- hierarchy (vim.lsp.buf.incoming_calls / outgoing_calls) and the `symscope/search` request behind
-- `:SymscopeSearch` (lua/symscope/init.lua).
return {
  cmd = { 'symscope', 'lsp' },
  -- Languages the server outlines and indexes (it detects the language from the file itself).
  filetypes = {
    'bash', 'c', 'cpp', 'cs', 'css', 'dart', 'elixir', 'erlang', 'go', 'haskell', 'hcl', 'java',
    'javascript', 'javascriptreact', 'julia', 'kotlin', 'lua', 'markdown', 'objc', 'ocaml', 'php',
    'python', 'r', 'ruby', 'rust', 'scala', 'sh', 'solidity', 'swift', 'terraform', 'toml',
    'typescript', 'typescriptreact', 'yaml', 'zig',
  },
  -- The whole repository is one index: a symscope.toml or the VCS root decides where it starts.
  root_markers = { 'symscope.toml', '.git', 'pyproject.toml', 'package.json', 'Cargo.toml', 'go.mod' },
  -- Settings of the index (camelCase or snake_case): indexDir, model, device, excludes,
  -- maxFileSize, embed; and of the server: watcher ('auto' | 'watchfiles' | 'off'), workspaceSymbolLimit,
  -- references (true: search-based textDocument/references; off by default).
  init_options = {},
  handlers = {
    ['symscope/statusChanged'] = function(_, status, ctx)
      require('symscope').on_status(status, ctx)
    end,
  },
  on_attach = function(client, bufnr)
    require('symscope').on_attach(client, bufnr)
  end,
}
