-- Headless Neovim 0.11 against the real server, configured by the real files in nvim/:
-- documentSymbol, workspace/symbol, :SymscopeSearch and :SymscopeRelated (quickfix); then a second
-- root joining the same server as a workspace folder, and a third folder added live with
-- vim.lsp.buf.add_workspace_folder(): every root searchable, related code at a position in each.
-- Report and exit status: harness.lua. Environment: harness.lua's (SYMSCOPE_FILE in the workspace),
-- and optionally SYMSCOPE_SECOND_FILE (an absolute path under a second root) and SYMSCOPE_THIRD_FILE
-- (an absolute path at the top of a third folder, which nothing opens before it is added).
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/harness.lua')
local check, out = H.check, H.out

--- The server's status once it lists `count` folders, all ready (nil after 60 s).
local function folders_ready(bufnr, count)
  return H.poll(60000, function()
    local st = H.request(bufnr, 'symscope/status', {})
    local ready = st and st.folders and #st.folders == count
    for _, f in ipairs(ready and st.folders or {}) do
      ready = ready and f.state == 'ready'
    end
    return ready and st or nil
  end)
end

--- :SymscopeRelated with the cursor at (line, col) of the current buffer: the quickfix rows, or nil
--- when the list never got the title `expected`.
local function related_at(line, col, expected)
  vim.api.nvim_win_set_cursor(0, { line, col })
  vim.fn.setqflist({}, 'r', { title = 'before' })
  vim.cmd('SymscopeRelated')
  return H.wait_quickfix('symscope: related to ' .. expected) and H.quickfix() or nil
end

H.run(function()
  local bufnr, client = H.start()
  out.filetype = vim.bo[bufnr].filetype
  out.root = client.root_dir
  out.encoding = client.offset_encoding

  local function req(method, params)
    return H.request(bufnr, method, params)
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
  local got = H.wait_quickfix('symscope: read the settings file from disk')
  out.quickfix = H.quickfix()
  local first = out.quickfix[1]
  check('SymscopeSearch', got and first and first.file:match('pkg/config%.py$') and first.lnum == 4 and first.col == 5
    and first.text:match('function load_config'), vim.inspect(out.quickfix))
  check('quickfixWindowOpen', vim.fn.getqflist({ winid = 0 }).winid ~= 0)

  -- :SymscopeRelated on retry_upload (line 8, inside the method): its callee send_chunk comes first.
  vim.cmd.edit(vim.fn.fnameescape(assert(vim.env.SYMSCOPE_FILE)))
  local rq = related_at(8, 8, 'UploadClient.retry_upload')
  out.related = rq
  check('SymscopeRelated', rq and rq[1] and rq[1].text:match('UploadClient%.send_chunk')
    and rq[1].file:match('pkg/upload%.py$'), vim.inspect(rq))

  local status = req('symscope/status', {})
  check('status', status and status.state == 'ready' and status.watcher == 'watchfiles', vim.inspect(status))

  -- A file under a second root (its own symscope.toml): the same server takes that root as a
  -- second workspace folder (nvim/lsp/symscope.lua's reuse_client), indexes it and searches it.
  local second = vim.env.SYMSCOPE_SECOND_FILE
  if second then
    vim.cmd.edit(vim.fn.fnameescape(second))
    local second_buf = vim.api.nvim_get_current_buf()
    local clients = vim.lsp.get_clients({ name = 'symscope' })
    check('oneServerForTwoRoots', #clients == 1 and #(clients[1].workspace_folders or {}) == 2,
      vim.inspect(vim.tbl_map(function(c) return c.workspace_folders end, clients)))
    local st = folders_ready(second_buf, 2)
    out.folders = st and st.folders
    check('secondRootReady', st ~= nil)
    local ws2 = req('workspace/symbol', { query = 'reserve_stock' })
    check('secondRootSearchable', ws2 and ws2[1] and ws2[1].name == 'reserve_stock'
      and ws2[1].location.uri == vim.uri_from_fname(second), vim.inspect(ws2))
    -- The first root is still searched beside it.
    local ws1 = req('workspace/symbol', { query = 'load_config' })
    check('firstRootStillSearchable', ws1 and ws1[1] and ws1[1].name == 'load_config'
      and ws1[1].location.uri:match('pkg/config%.py$'), vim.inspect(ws1))
  end

  -- A third folder, added live from the buffer the user is in (as `:lua vim.lsp.buf.add_workspace_folder()`
  -- does): the server indexes it with the others running, and answers for it like for any root.
  local third = vim.env.SYMSCOPE_THIRD_FILE
  if third then
    local third_dir = vim.fs.dirname(third)
    vim.lsp.buf.add_workspace_folder(third_dir)
    local clients = vim.lsp.get_clients({ name = 'symscope' })
    local uris = vim.tbl_map(function(f) return f.uri end, clients[1] and clients[1].workspace_folders or {})
    check('thirdFolderAdded', #clients == 1 and vim.tbl_contains(uris, vim.uri_from_fname(third_dir)), vim.inspect(uris))
    local st = folders_ready(vim.api.nvim_get_current_buf(), second and 3 or 2)
    out.folders = st and st.folders
    check('thirdFolderReady', st ~= nil)
    local ws3 = req('workspace/symbol', { query = 'settle_invoice' })
    check('thirdFolderSearchable', ws3 and ws3[1] and ws3[1].name == 'settle_invoice'
      and ws3[1].location.uri == vim.uri_from_fname(third), vim.inspect(ws3))
    local found = req('symscope/search', { query = 'post_ledger_entry', limit = 3 })
    local top = found and found.results and found.results[1]
    check('thirdFolderLabelled', top and top.name == 'post_ledger_entry' and top.folder == vim.fs.basename(third_dir),
      vim.inspect(found))
    -- Related code at a position in the added folder: answered from that folder's index.
    vim.cmd.edit(vim.fn.fnameescape(third))
    local r3 = related_at(3, 8, 'settle_invoice')
    out.relatedThird = r3
    check('SymscopeRelatedInThirdFolder', r3 and r3[1] and r3[1].text:match('function post_ledger_entry')
      and vim.uri_from_fname(vim.fn.fnamemodify(r3[1].file, ':p')) == vim.uri_from_fname(third), vim.inspect(r3))
    local after = vim.lsp.get_clients({ name = 'symscope' })
    check('oneServerForAllFolders', #after == 1 and #(after[1].workspace_folders or {}) == (second and 3 or 2),
      vim.inspect(#after))
  end
end)
