-- Headless Neovim 0.11 with the real nvim/ config: a buffer whose edit kills the server's parser
-- (fault injection: SYMSCOPE_WORKER_FAULTS=1) must cost neither the server nor the other buffers.
-- Report and exit status: harness.lua. Environment: harness.lua's, and SYMSCOPE_OTHER_FILE.
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/harness.lua')
local check = H.check

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

H.run(function()
  local bufnr, client = H.start()
  local client_id = client.id

  local function outline(buf)
    return names(H.request(buf, 'textDocument/documentSymbol', { textDocument = vim.lsp.util.make_text_document_params(buf) }))
  end

  check('outlineBefore', outline(bufnr) == 'Service,start,make_service', outline(bufnr))
  -- As a user typing: the new first line kills the parser.
  vim.api.nvim_buf_set_lines(bufnr, 0, 0, false, { 'symscope-fault:abort' })
  check('outlineAfterCrash', outline(bufnr) == 'Service,start,make_service', outline(bufnr))

  vim.cmd.edit(vim.fn.fnameescape(assert(vim.env.SYMSCOPE_OTHER_FILE)))
  local other = vim.api.nvim_get_current_buf()
  check('otherOutline', outline(other) == 'formatDate', outline(other))
  local ws = H.request(other, 'workspace/symbol', { query = 'formatDate' })
  check('workspaceSymbol', ws and ws[1] and ws[1].name == 'formatDate', vim.inspect(ws))

  local status = H.request(other, 'symscope/status', {})
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
end)
