-- Headless Neovim 0.11 against the real server, configured by the real files in nvim/:
-- documentSymbol, workspace/symbol and :SymscopeSearch (quickfix). Prints one JSON line;
-- exit status 0 = all checks passed, 1 = a check failed, 2 = the server never got ready.
-- Environment: SYMSCOPE_REPO, SYMSCOPE_PYTHON, SYMSCOPE_INDEX_DIR, SYMSCOPE_FILE (in the workspace),
-- SYMSCOPE_SECOND_FILE (optional: an absolute path under a second root).
local out = { checks = {} }

local function finish(code, msg)
  if msg then
    out.error = msg
  end
  io.stdout:write(vim.json.encode(out) .. '\n')
  vim.cmd('cquit ' .. code)
end

local function check(name, ok, detail)
  out.checks[name] = ok and true or (detail or false)
  return ok
end

local function main()
  local repo = assert(vim.env.SYMSCOPE_REPO)
  vim.opt.runtimepath:prepend(repo .. '/nvim')
  -- Only what a test must change: how to start this checkout's server, and a private index.
  vim.lsp.config('symscope', {
    cmd = { vim.env.SYMSCOPE_PYTHON, '-m', 'lsp_server', 'lsp' },
    cmd_env = { PYTHONPATH = repo },
    init_options = { model = 'hashing', indexDir = vim.env.SYMSCOPE_INDEX_DIR },
  })
  vim.lsp.enable('symscope')
  local v = vim.version()
  out.nvim = string.format('%d.%d.%d', v.major, v.minor, v.patch)

  -- As in a user's session: the config is enabled first, then a file is opened.
  vim.cmd.edit(vim.fn.fnameescape(assert(vim.env.SYMSCOPE_FILE)))
  local bufnr = vim.api.nvim_get_current_buf()
  out.filetype = vim.bo[bufnr].filetype
  local symscope = require('symscope')
  local ready = vim.wait(60000, function()
    for _, s in pairs(symscope.status) do
      if s.state == 'ready' then
        return true
      end
    end
    return false
  end, 50)
  local client = vim.lsp.get_clients({ name = 'symscope', bufnr = bufnr })[1]
  if not ready or not client then
    return finish(2, 'server never became ready (client: ' .. tostring(client ~= nil) .. ')')
  end
  out.root = client.root_dir
  out.encoding = client.offset_encoding

  local function req(method, params)
    local res = vim.lsp.buf_request_sync(bufnr, method, params, 10000) or {}
    for _, r in pairs(res) do
      if r.err then
        return nil, r.err
      end
      return r.result
    end
  end

  local symbols = req('textDocument/documentSymbol', { textDocument = vim.lsp.util.make_text_document_params(bufnr) })
  out.documentSymbol = symbols
  local cls = symbols and symbols[1]
  local children = {}
  for _, c in ipairs(cls and cls.children or {}) do
    table.insert(children, c.name)
  end
  check('documentSymbol', cls and cls.name == 'UploadClient' and table.concat(children, ',') == 'retry_upload,send_chunk',
    vim.inspect(symbols))

  local ws = req('workspace/symbol', { query = 'ldcfg' })
  check('workspaceSymbol', ws and ws[1] and ws[1].name == 'load_config' and ws[1].location.uri:match('pkg/config%.py$'),
    vim.inspect(ws))
  local nl = req('workspace/symbol', { query = 'send again after network failure' })
  check('workspaceSymbolNaturalLanguage', nl and nl[1] and nl[1].name == 'retry_upload', vim.inspect(nl))

  vim.cmd('SymscopeSearch read the settings file from disk')
  local got = vim.wait(10000, function()
    return vim.fn.getqflist({ title = 0 }).title == 'symscope: read the settings file from disk'
  end, 50)
  local qf = vim.fn.getqflist()
  out.quickfix = {}
  for _, item in ipairs(qf) do
    table.insert(out.quickfix, { file = vim.fn.bufname(item.bufnr), lnum = item.lnum, col = item.col, text = item.text })
  end
  local first = out.quickfix[1]
  check('SymscopeSearch', got and first and first.file:match('pkg/config%.py$') and first.lnum == 4 and first.col == 5
    and first.text:match('function load_config'), vim.inspect(out.quickfix))
  check('quickfixWindowOpen', vim.fn.getqflist({ winid = 0 }).winid ~= 0)

  -- :SymscopeRelated on retry_upload (line 8, inside the method): its callee send_chunk comes first.
  vim.cmd.edit(vim.fn.fnameescape(assert(vim.env.SYMSCOPE_FILE)))
  vim.api.nvim_win_set_cursor(0, { 8, 8 })
  vim.cmd('SymscopeRelated')
  local related = vim.wait(10000, function()
    return vim.fn.getqflist({ title = 0 }).title == 'symscope: related to UploadClient.retry_upload'
  end, 50)
  local rq = vim.fn.getqflist()
  check('SymscopeRelated', related and rq[1] and rq[1].text:match('UploadClient%.send_chunk'), vim.inspect(rq))

  local status = req('symscope/status', {})
  check('status', status and status.state == 'ready' and status.watcher == 'watchfiles', vim.inspect(status))

  -- A file under a second root (its own symscope.toml): the same server takes that root as a
  -- second workspace folder (nvim/lsp/symscope.lua's reuse_client), indexes it and searches it.
  local second = vim.env.SYMSCOPE_SECOND_FILE
  if second then
    vim.cmd.edit(vim.fn.fnameescape(second))
    local clients = vim.lsp.get_clients({ name = 'symscope' })
    check('oneServerForTwoRoots', #clients == 1 and #(clients[1].workspace_folders or {}) == 2,
      vim.inspect(vim.tbl_map(function(c) return c.workspace_folders end, clients)))
    local st
    for _ = 1, 600 do
      st = req('symscope/status', {})
      local ready = st and st.folders and #st.folders == 2
      for _, f in ipairs(ready and st.folders or {}) do
        ready = ready and f.state == 'ready'
      end
      if ready then
        break
      end
      st = nil
      vim.wait(100)
    end
    out.folders = st and st.folders
    check('secondRootReady', st ~= nil)
    local ws2 = req('workspace/symbol', { query = 'reserve_stock' })
    check('secondRootSearchable', ws2 and ws2[1] and ws2[1].name == 'reserve_stock'
      and ws2[1].location.uri == vim.uri_from_fname(second), vim.inspect(ws2))
  end

  for _, ok in pairs(out.checks) do
    if ok ~= true then
      return finish(1, 'a check failed')
    end
  end
  finish(0)
end

local ok, err = pcall(main)
if not ok then
  finish(1, 'error: ' .. tostring(err))
end
