-- What the headless-Neovim scripts (smoke.lua, crash.lua, call_hierarchy.lua) share: their report,
-- checks, start-up against this checkout's server, requests and the exit protocol.
--
-- A script loads it from its own folder and runs its body through `run`:
--   local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/harness.lua')
--   H.run(function() local bufnr, client = H.start(); ... H.check('name', ok, detail) end)
-- It prints one JSON line (H.out: `checks` plus whatever the script adds); exit status 0 = all
-- checks passed, 1 = a check failed or the script raised, 2 = the server never got ready.
-- Environment: SYMSCOPE_REPO, SYMSCOPE_PYTHON, SYMSCOPE_INDEX_DIR, SYMSCOPE_FILE (the first file).
local H = { out = { checks = {} } }

--- Print the report and exit Neovim with `code` (nothing after this runs).
function H.finish(code, msg)
  if msg then
    H.out.error = msg
  end
  io.stdout:write(vim.json.encode(H.out) .. '\n')
  vim.cmd('cquit ' .. code)
end

--- Record a check: true when `ok`, else `detail` (what was seen) so the report shows why.
function H.check(name, ok, detail)
  H.out.checks[name] = ok and true or (detail or false)
  return ok
end

--- The first result of a request to the buffer's server (nil, err on an error response).
function H.request(bufnr, method, params)
  local res = vim.lsp.buf_request_sync(bufnr, method, params, 10000) or {}
  for _, r in pairs(res) do
    if r.err then
      return nil, r.err
    end
    return r.result
  end
end

--- Poll `ready()` every 100 ms for up to `timeout_ms`; its last truthy value, or nil.
function H.poll(timeout_ms, ready)
  local value
  vim.wait(timeout_ms, function()
    value = ready()
    return value ~= nil and value ~= false
  end, 100)
  return value or nil
end

--- The real nvim/ config, changed only in what a test must change (this checkout's server, a
--- private index, the hashing model); then SYMSCOPE_FILE is opened, as in a user's session, and
--- the server must report `ready`. Returns the buffer and its client; exits with 2 otherwise.
function H.start()
  local repo = assert(vim.env.SYMSCOPE_REPO)
  vim.opt.runtimepath:prepend(repo .. '/nvim')
  vim.lsp.config('symscope', {
    cmd = { vim.env.SYMSCOPE_PYTHON, '-m', 'lsp_server', 'lsp' },
    cmd_env = { PYTHONPATH = repo },
    init_options = { model = 'hashing', indexDir = vim.env.SYMSCOPE_INDEX_DIR },
  })
  vim.lsp.enable('symscope')
  local v = vim.version()
  H.out.nvim = string.format('%d.%d.%d', v.major, v.minor, v.patch)
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
    H.finish(2, 'server never became ready (client: ' .. tostring(client ~= nil) .. ')')
  end
  return bufnr, client
end

--- The quickfix list as plain rows (file, lnum, col, text), for checks and the report.
function H.quickfix()
  local rows = {}
  for _, q in ipairs(vim.fn.getqflist()) do
    table.insert(rows, { file = vim.fn.bufname(q.bufnr), lnum = q.lnum, col = q.col, text = q.text })
  end
  return rows
end

--- Wait until the quickfix list's title is `title` (a command filled it); true when it did.
function H.wait_quickfix(title)
  return vim.wait(10000, function()
    return vim.fn.getqflist({ title = 0 }).title == title
  end, 50)
end

--- Run the script's body; then exit 0 when every check passed, else 1 (an error counts as failed).
function H.run(main)
  local ok, err = pcall(main)
  if not ok then
    return H.finish(1, 'error: ' .. tostring(err))
  end
  for _, passed in pairs(H.out.checks) do
    if passed ~= true then
      return H.finish(1, 'a check failed')
    end
  end
  H.finish(0)
end

return H
