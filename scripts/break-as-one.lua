-- Reports every kind of break under one label, "Break", so that a supervisor sees one
-- number for time away, whatever the agent picked in the CCP (Lunch, Coffee, Personal).
-- The same hook as break-as-one.rhai, in Lua 5.4.
--
-- classify(snap) returns a label, or nil to leave the decision to the next script and then
-- to the built-in rules. It is called with the snapshot after every event; results are
-- cached per distinct snapshot.

local BREAKS = { Lunch = true, Coffee = true, Personal = true, Break = true }

function classify(snap)
  -- While a contact is on, the contact decides (Busy, After contact work, ...).
  if #snap.contacts > 0 then
    return nil
  end
  if snap.status.type == "CUSTOM" and BREAKS[snap.status.name] then
    return "Break"
  end
  return nil
end

-- Test cases `agent-audit check` runs against the whole configuration.
function tests()
  return {
    {
      name = "lunch is reported as a break",
      snapshot = { status = { name = "Lunch", type = "CUSTOM" } },
      expect = "Break",
    },
    {
      name = "training is not a break",
      snapshot = { status = { name = "Training", type = "CUSTOM" } },
      expect = "Training",
    },
    {
      name = "a chat taken during lunch is still a chat",
      snapshot = {
        status = { name = "Lunch", type = "CUSTOM" },
        contacts = { { id = "c1", channel = "CHAT", state = "CONNECTED", initiation_method = "API", connected = true } },
      },
      expect = "Busy",
    },
  }
end
