-- Compliance policy: nobody audits their own activity, and days older than the retention
-- window may not be audited (Connect keeps agent activity for 24 months). The same policy
-- as compliance.rhai, in Lua 5.4.
--
-- authorize(req) returns "permit", "forbid", { decision = ..., reason = ... }, or nil for
-- no opinion. A policy can only narrow access: a request runs when the profiles allow it
-- and no policy forbids it. A policy that fails, runs out of budget or returns anything
-- else forbids.

function authorize(req)
  if req.requester.login_key == req.agent.login_key then
    return { decision = "forbid", reason = "nobody audits their own activity" }
  end
  if req.days_ago > 730 then
    return {
      decision = "forbid",
      reason = "the day is " .. req.days_ago .. " days old, beyond the 730-day retention window",
    }
  end
  return nil
end

function tests()
  return {
    { name = "a team lead cannot audit himself", requester = "jdoe", agent = "jdoe",
      date = "2026-11-02", today = "2026-11-03", expect = "deny" },
    { name = "a day within retention", requester = "audrey", agent = "jdoe",
      date = "2025-01-01", today = "2026-11-03", expect = "allow" },
    { name = "a day beyond retention", requester = "admin", agent = "jdoe",
      date = "2024-11-02", today = "2026-11-03", expect = "deny" },
  }
end
