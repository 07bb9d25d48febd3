// The supervisor board's team panel: everyone's load right now (who is on
// duty, on a break, holding high-risk conversations) and open debrief
// requests, refreshed every 15 s and at once when a request comes in.
import { $, button, cell } from "/static/shared/dom.js";
import { timeOfDay } from "/static/shared/i18n.js";
import { request } from "/static/shared/socket.js";
import { format } from "/static/shared/transcript.js";

const REFRESH_MS = 15000;

export function startTeamPanel(socket, strings) {
  function renderMembers(members) {
    $("team").replaceChildren(...members.map((member) => {
      const tr = document.createElement("tr");
      if (member.high_risk) tr.className = "busy";
      const state = member.on_break_until
        ? format(strings.on_break_short, { time: timeOfDay(member.on_break_until) })
        : member.on_duty ? strings.on_duty : strings.off_duty;
      tr.append(
        cell(member.name),
        cell(strings.roles[member.role] || member.role),
        cell(state),
        cell(String(member.active)),
        cell(String(member.high_risk)),
      );
      return tr;
    }));
  }

  function renderDebriefs(debriefs) {
    $("debriefs").replaceChildren(...debriefs.map((debrief) => {
      const li = document.createElement("li");
      const title = document.createElement("strong");
      title.textContent = [
        debrief.counselor,
        timeOfDay(debrief.created_at),
        debrief.conversation_id ? `#${debrief.conversation_id}` : "",
      ].filter(Boolean).join(" · ");
      li.append(title);
      if (debrief.note) {
        const note = document.createElement("p");
        note.textContent = debrief.note;
        li.append(note);
      }
      li.append(button(strings.debrief_done, async () => {
        await request(socket, "debrief_handled", { debrief_id: debrief.debrief_id });
        refresh();
      }));
      return li;
    }));
    $("debriefs-empty").hidden = debriefs.length > 0;
  }

  async function refresh() {
    const response = await fetch("/api/team").catch(() => null);
    if (!response?.ok) return;
    const body = await response.json();
    renderMembers(body.members);
    renderDebriefs(body.debriefs);
  }

  socket.on("debrief", refresh);
  refresh();
  setInterval(refresh, REFRESH_MS);
}
