-- Headless Neovim 0.11 against the real server, configured by the real files in nvim/: call
-- hierarchy through vim.lsp.buf_request_sync (prepare, incoming, outgoing, each with its confidence
-- label) and through the user's command path, vim.lsp.buf.incoming_calls() (quickfix).
-- Report and exit status: harness.lua. Environment: harness.lua's (SYMSCOPE_FILE = pkg/upload.py).
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/harness.lua')
local check, out = H.check, H.out

H.run(function()
  local bufnr, client = H.start()
  out.encoding = client.offset_encoding
  check('capability', client:supports_method('textDocument/prepareCallHierarchy', bufnr))
  check('referencesOffByDefault', client.server_capabilities.referencesProvider == nil)

  local function req(method, params)
    return H.request(bufnr, method, params)
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
  local got = H.wait_quickfix('LSP call hierarchy')
  out.quickfix = H.quickfix()
  local first = out.quickfix[1]
  check('incomingCallsQuickfix', got and #out.quickfix == 1 and first.text == 'retry_upload'
    and first.file:match('pkg/upload%.py$') and first.lnum == site.line + 1 and first.col == site.character + 1,
    vim.inspect(out.quickfix))
end)
