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
  -- One server for every root: a buffer under a root the server does not have yet adds that root
  -- as a workspace folder (its own index; searches cover all folders, each hit names its folder).
  -- Neovim's default would start a second server per root. `workspace_folders = { {uri=, name=}, ... }`
  -- starts with several roots; `:lua vim.lsp.buf.add_workspace_folder()` / `remove_workspace_folder()`
  -- change them live. Return false here (or drop this function) for one server per root.
  reuse_client = function(client, config)
    if client.name ~= config.name or client:is_stopped() then
      return false
    end
    local root = config.root_dir
    if type(root) == 'string' then
      local uri = vim.uri_from_fname(root)
      for _, folder in ipairs(client.workspace_folders or {}) do
        if folder.uri == uri then
          return true
        end
      end
      client:_add_workspace_folder(root)
    end
    return true
  end,
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
