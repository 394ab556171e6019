-- Headless Neovim 0.11 against the real server, configured by the real files in nvim/: call
-- hierarchy through vim.lsp.buf_request_sync (prepare, incoming, outgoing) and through the user's
-- command path, vim.lsp.buf.incoming_calls() (quickfix). Prints one JSON line;
-- exit status 0 = all checks passed, 1 = a check failed, 2 = the server never got ready.
-- Environment: SYMSCOPE_REPO, SYMSCOPE_PYTHON, SYMSCOPE_INDEX_DIR, SYMSCOPE_FILE (pkg/upload.py).
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
    return finish(2, 'server never became ready (client: ' .. tostring(client ~= nil) .. ')')
  end
  out.encoding = client.offset_encoding
  check('capability', client:supports_method('textDocument/prepareCallHierarchy', bufnr))
  check('referencesOffByDefault', client.server_capabilities.referencesProvider == nil)

  local function req(method, params)
    local res = vim.lsp.buf_request_sync(bufnr, method, params, 10000) or {}
    for _, r in pairs(res) do
      if r.err then
        return nil, r.err
      end
      return r.result
    end
  end

  -- The 0-based position of the first `needle` in the buffer (ASCII: bytes = characters).
  local function find(needle)
    for n, line in ipairs(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)) do
      local col = line:find(needle, 1, true)
      if col then
        return { line = n - 1, character = col - 1 }
      end
    end
  end

  local at = assert(find('send_chunk(self'))
  local items = req('textDocument/prepareCallHierarchy', {
    textDocument = vim.lsp.util.make_text_document_params(bufnr), position = at,
  })
  out.prepare = items
  local item = items and items[1]
  check('prepare', item and #items == 1 and item.name == 'send_chunk' and item.detail == 'UploadClient · pkg/upload.py'
    and item.data and type(item.data.symbolId) == 'string', vim.inspect(items))

  local incoming = item and req('callHierarchy/incomingCalls', { item = item })
  out.incoming = incoming
  local call = incoming and incoming[1]
  local site = assert(find('send_chunk(data'))
  check('incomingCalls', call and #incoming == 1 and call.from.name == 'retry_upload'
    and call.from.detail == 'same class · UploadClient' and call.fromRanges[1].start.line == site.line
    and call.fromRanges[1].start.character == site.character, vim.inspect(incoming))

  local outgoing = item and req('callHierarchy/outgoingCalls', { item = item })
  out.outgoing = outgoing
  local to = outgoing and outgoing[1]
  check('outgoingCalls', to and #outgoing == 1 and to.to.name == 'load_config' and to.to.detail == 'via import · pkg/config.py',
    vim.inspect(outgoing))

  -- The command a user runs: cursor on the method's name, incoming calls into quickfix.
  vim.api.nvim_win_set_cursor(0, { at.line + 1, at.character + 2 })
  vim.fn.setqflist({}, 'r', { title = 'before' })
  vim.lsp.buf.incoming_calls()
  local got = vim.wait(10000, function()
    return vim.fn.getqflist({ title = 0 }).title == 'LSP call hierarchy'
  end, 50)
  local qf = vim.fn.getqflist()
  out.quickfix = {}
  for _, q in ipairs(qf) do
    table.insert(out.quickfix, { file = vim.fn.bufname(q.bufnr), lnum = q.lnum, col = q.col, text = q.text })
  end
  local first = out.quickfix[1]
  check('incomingCallsQuickfix', got and #qf == 1 and first.text == 'retry_upload' and first.file:match('pkg/upload%.py$')
    and first.lnum == site.line + 1 and first.col == site.character + 1, vim.inspect(out.quickfix))

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
