-- Headless Neovim 0.11 with the real nvim/ config: a buffer whose edit kills the server's parser
-- (fault injection: SYMSCOPE_WORKER_FAULTS=1) must cost neither the server nor the other buffers.
-- Prints one JSON line; exit status 0 = all checks passed, 1 = a check failed, 2 = never ready.
-- Environment: SYMSCOPE_REPO, SYMSCOPE_PYTHON, SYMSCOPE_INDEX_DIR, SYMSCOPE_FILE, SYMSCOPE_OTHER_FILE.
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

local function names(symbols)
  local found = {}
  local function walk(list)
    for _, s in ipairs(list or {}) do
      table.insert(found, s.name)
      walk(s.children)
    end
  end
  walk(symbols)
  return table.concat(found, ',')
end

local function main()
  local repo = assert(vim.env.SYMSCOPE_REPO)
  vim.opt.runtimepath:prepend(repo .. '/nvim')
  vim.lsp.config('symscope', {
    cmd = { vim.env.SYMSCOPE_PYTHON, '-m', 'lsp_server', 'lsp' },
    cmd_env = { PYTHONPATH = repo },
    init_options = { model = 'hashing', indexDir = vim.env.SYMSCOPE_INDEX_DIR },
  })
  vim.lsp.enable('symscope')
  vim.cmd.edit(vim.fn.fnameescape(assert(vim.env.SYMSCOPE_FILE)))
  local bufnr = vim.api.nvim_get_current_buf()
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
    return finish(2, 'server never became ready')
  end
  local client_id = client.id

  local function req(buf, method, params)
    local res = vim.lsp.buf_request_sync(buf, method, params, 10000) or {}
    for _, r in pairs(res) do
      if r.err then
        return nil, r.err
      end
      return r.result
    end
  end
  local function outline(buf)
    return names(req(buf, 'textDocument/documentSymbol', { textDocument = vim.lsp.util.make_text_document_params(buf) }))
  end

  check('outlineBefore', outline(bufnr) == 'Service,start,make_service', outline(bufnr))
  -- As a user typing: the new first line kills the parser.
  vim.api.nvim_buf_set_lines(bufnr, 0, 0, false, { 'symscope-fault:abort' })
  check('outlineAfterCrash', outline(bufnr) == 'Service,start,make_service', outline(bufnr))

  vim.cmd.edit(vim.fn.fnameescape(assert(vim.env.SYMSCOPE_OTHER_FILE)))
  local other = vim.api.nvim_get_current_buf()
  check('otherOutline', outline(other) == 'formatDate', outline(other))
  local ws = req(other, 'workspace/symbol', { query = 'formatDate' })
  check('workspaceSymbol', ws and ws[1] and ws[1].name == 'formatDate', vim.inspect(ws))

  local status = req(other, 'symscope/status', {})
  local reported = false
  for _, f in ipairs(status and status.parserFailures or {}) do
    if f:match('^app/service%.py: parser crashed') then
      reported = true
    end
  end
  check('statusReportsTheCrash', reported, vim.inspect(status and status.parserFailures))
  check('statusReady', status and status.state == 'ready', vim.inspect(status))

  -- Fixing the line makes the buffer parse again.
  vim.api.nvim_buf_set_lines(bufnr, 0, 1, false, {})
  check('outlineAfterFix', outline(bufnr) == 'Service,start,make_service', outline(bufnr))

  local now = vim.lsp.get_clients({ name = 'symscope' })
  check('sameServer', #now == 1 and now[1].id == client_id and not now[1]:is_stopped(), vim.inspect(#now))

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
