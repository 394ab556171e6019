--- symscope for Neovim: semantic search through the server's `symscope/search` request.
---
--- :SymscopeSearch {query}   search the workspace (words, identifiers or both); results go to the
---                           quickfix list (or vim.ui.select with setup({ picker = 'select' }))
--- :SymscopeRelated          definitions like the one under the cursor (meaning, callers, callees)
--- :SymscopeStatus           what the server is doing (indexing, symbols, vectors, role)
---
--- The commands are created when the server attaches (see lsp/symscope.lua) or by setup().
local M = {}

M.config = {
  limit = 50, -- results per search
  picker = 'quickfix', -- 'quickfix' | 'select'
  open_quickfix = true, -- :copen after a search that found something
}

--- The last `symscope/statusChanged` payload, per client id.
M.status = {}

local function get_client(bufnr)
  local clients = vim.lsp.get_clients({ name = 'symscope', bufnr = bufnr })
  if #clients == 0 then
    clients = vim.lsp.get_clients({ name = 'symscope' })
  end
  return clients[1]
end

--- Byte column (1-based) of an LSP position in the client's negotiated encoding.
local function byte_col(fname, position, encoding)
  if encoding == 'utf-8' then
    return position.character + 1
  end
  local line
  local bufnr = vim.fn.bufnr(fname)
  if bufnr ~= -1 and vim.api.nvim_buf_is_loaded(bufnr) then
    line = vim.api.nvim_buf_get_lines(bufnr, position.line, position.line + 1, false)[1]
  else
    local ok, lines = pcall(vim.fn.readfile, fname, '', position.line + 1)
    line = ok and lines[position.line + 1] or nil
  end
  if not line then
    return position.character + 1
  end
  local ok, idx = pcall(vim.str_byteindex, line, encoding, position.character, false)
  return (ok and idx or position.character) + 1
end

--- Quickfix items for search results, in rank order.
function M.items(results, encoding)
  local items = {}
  for _, r in ipairs(results or {}) do
    local fname = vim.uri_to_fname(r.uri)
    local start = r.selectionRange.start
    local note = r.freshness and r.freshness ~= 'indexed' and (' [' .. r.freshness .. ']') or ''
    local tail = r.signature or r.why or ''
    table.insert(items, {
      filename = fname,
      lnum = start.line + 1,
      col = byte_col(fname, start, encoding or 'utf-16'),
      text = string.format('%s %s%s  %s', r.kind, r.qualifiedName, note, tail),
      user_data = r,
    })
  end
  return items
end

local function show(query, result, encoding)
  local items = M.items(result.results, encoding)
  if #items == 0 then
    vim.notify(('symscope: nothing found for %q'):format(query), vim.log.levels.INFO)
    return
  end
  if M.config.picker == 'select' then
    vim.ui.select(items, {
      prompt = 'symscope: ' .. query,
      format_item = function(item)
        return ('%s:%d  %s'):format(vim.fn.fnamemodify(item.filename, ':.'), item.lnum, item.text)
      end,
    }, function(item)
      if item then
        vim.cmd.edit(vim.fn.fnameescape(item.filename))
        vim.api.nvim_win_set_cursor(0, { item.lnum, item.col - 1 })
      end
    end)
    return
  end
  vim.fn.setqflist({}, ' ', { title = 'symscope: ' .. query, items = items, context = { symscope = result } })
  if M.config.open_quickfix then
    vim.cmd('botright copen')
  end
end

--- Search the workspace; `opts` may hold limit, lang, path (glob), kind, mode, and on_result(result)
--- to receive the raw response instead of showing it.
function M.search(query, opts)
  opts = opts or {}
  query = vim.trim(query or '')
  if query == '' then
    vim.notify('symscope: give a query, e.g. :SymscopeSearch retry failed uploads', vim.log.levels.WARN)
    return
  end
  local client = get_client(vim.api.nvim_get_current_buf())
  if not client then
    vim.notify('symscope: the language server is not running (vim.lsp.enable("symscope"))', vim.log.levels.ERROR)
    return
  end
  local params = { query = query, limit = opts.limit or M.config.limit }
  for _, key in ipairs({ 'lang', 'path', 'kind', 'mode' }) do
    params[key] = opts[key]
  end
  client:request('symscope/search', params, function(err, result)
    if err then
      vim.notify('symscope: ' .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
      return
    end
    if opts.on_result then
      opts.on_result(result)
    else
      show(query, result, client.offset_encoding)
    end
  end)
end

--- Definitions related to the one under the cursor; `opts.on_result(result)` receives the raw response.
function M.related(opts)
  opts = opts or {}
  local bufnr = vim.api.nvim_get_current_buf()
  local client = get_client(bufnr)
  if not client then
    vim.notify('symscope: the language server is not running (vim.lsp.enable("symscope"))', vim.log.levels.ERROR)
    return
  end
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  params.limit = opts.limit or 20
  client:request('symscope/related', params, function(err, result)
    if err then
      vim.notify('symscope: ' .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
      return
    end
    if opts.on_result then
      opts.on_result(result)
    elseif result.symbol == nil or result.symbol == vim.NIL then
      vim.notify('symscope: ' .. (result.note or 'no definition here'), vim.log.levels.INFO)
    else
      show('related to ' .. result.symbol.qualifiedName, result, client.offset_encoding)
    end
  end, bufnr)
end

function M.show_status()
  local client = get_client(vim.api.nvim_get_current_buf())
  if not client then
    vim.notify('symscope: the language server is not running', vim.log.levels.ERROR)
    return
  end
  client:request('symscope/status', {}, function(err, s)
    if err then
      vim.notify('symscope: ' .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
      return
    end
    vim.notify(
      ('symscope: %s (%s) - %s; %d files, %d symbols, %d vectors, %d pending%s'):format(
        s.state, s.role, s.message, s.files or 0, s.symbols or 0, s.vectors or 0, s.pending or 0,
        s.lastError and s.lastError ~= vim.NIL and ('; last error: ' .. s.lastError) or ''
      ),
      vim.log.levels.INFO
    )
  end)
end

--- `symscope/statusChanged` notifications: remembered and announced as `User SymscopeStatus`.
function M.on_status(status, ctx)
  M.status[ctx and ctx.client_id or 0] = status
  vim.api.nvim_exec_autocmds('User', { pattern = 'SymscopeStatus', modeline = false, data = status })
end

local commands_created = false

function M.setup(opts)
  M.config = vim.tbl_deep_extend('force', M.config, opts or {})
  if commands_created then
    return
  end
  commands_created = true
  vim.api.nvim_create_user_command('SymscopeSearch', function(args)
    M.search(args.args)
  end, { nargs = '+', desc = 'symscope: semantic search of the workspace' })
  vim.api.nvim_create_user_command('SymscopeRelated', function()
    M.related()
  end, { nargs = 0, desc = 'symscope: definitions related to the one under the cursor' })
  vim.api.nvim_create_user_command('SymscopeStatus', M.show_status, { nargs = 0, desc = 'symscope: index status' })
end

function M.on_attach(_, _)
  M.setup()
end

return M
