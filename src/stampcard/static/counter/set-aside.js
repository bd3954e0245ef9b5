// The list of scans set aside on a counter device (offline-queue.js): refused once they were
// finally sent (someone stamped the card meanwhile, the cooldown), or set aside after server
// errors. One line each, kept until staff send it again (the same request, so its original
// nonce: the server applies it at most once) or discard it after a confirmation. A refusal the
// same request always meets is not offered again. Used by the scanner and Autopilot.
import { Offline, ServerError, SignedOut } from "./offline-queue.js";

function fill(template, values) {
  return template.replace(/%\((\w+)\)s/g, (_, name) => String(values[name] ?? ""));
}

function button(label, className, onClick) {
  const element = document.createElement("button");
  element.type = "button";
  element.className = className;
  element.textContent = label;
  element.addEventListener("click", onClick);
  return element;
}

// view: the section shown while the list has lines; list: its <ul>; root: gets
// data-set-aside (how many). onSent(answer, item): a scan sent again was done; afterAction():
// after every action (Autopilot gives the focus back to its field).
export function setAsideList({ queue, view, list, root, text, signedOutText, onSent, afterAction }) {
  // Refused by the server, or no answer at all (the server may have applied it): each line
  // says which, so the list is true for both.
  const noAnswer = (answer) => answer.outcome === "failed" || answer.refusal === "server_error";
  const message = (answer) =>
    noAnswer(answer)
      ? text.aside_failed
      : fill(text.aside_refused, { message: answer.message || answer.refusal });

  async function render(notes = {}) {
    const items = await queue.setAside();
    list.replaceChildren();
    for (const item of items) {
      const line = document.createElement("li");
      line.className = "late-item";
      line.dataset.refusal = item.answer.refusal;
      line.dataset.nonce = item.body.nonce;
      line.dataset.status = noAnswer(item.answer) ? "no_answer" : "refused";
      const what = document.createElement("p");
      const code = item.body.code;
      const who = item.answer.customer;
      what.textContent = `${who ? `${who} (${code})` : code} · ${message(item.answer)}`;
      line.append(what);
      const note = notes[item.key] ?? (item.final ? text.final : "");
      if (note) {
        const said = document.createElement("p");
        said.className = "late-note";
        said.setAttribute("role", "status");
        said.textContent = note;
        line.append(said);
      }
      const actions = document.createElement("div");
      actions.className = "row late-actions";
      if (!item.final) {
        actions.append(button(text.send_again, "primary send-again", () => resend(item, line)));
      }
      actions.append(button(text.discard, "keep discard", () => confirmDiscard(item, line, actions)));
      line.append(actions);
      list.append(line);
    }
    view.hidden = items.length === 0;
    root.dataset.setAside = String(items.length);
  }

  function confirmDiscard(item, line, actions) {
    const ask = document.createElement("div");
    ask.className = "late-confirm";
    ask.setAttribute("role", "alert");
    const question = document.createElement("p");
    question.textContent = text.discard_confirm;
    const row = document.createElement("div");
    row.className = "row";
    row.append(
      button(text.discard_yes, "danger discard-yes", async () => {
        await queue.discard(item.key);
        await render();
        afterAction();
      }),
      button(text.discard_no, "keep discard-no", () => {
        ask.remove();
        actions.hidden = false;
        afterAction();
      }),
    );
    ask.append(question, row);
    actions.hidden = true;
    line.append(ask);
  }

  // What became of a scan sent again: onSent() for a done one; on its line while it stays.
  async function resend(item, line) {
    line.setAttribute("aria-busy", "true");
    const notes = {};
    try {
      const answer = await queue.resend(item.key);
      if (answer?.ok) onSent(answer, item);
      else if (answer) {
        notes[item.key] = fill(text.resent_refused, { message: answer.message || text.failed });
      }
    } catch (error) {
      if (error instanceof Offline) notes[item.key] = text.resent_offline;
      else if (error instanceof ServerError) notes[item.key] = text.resent_error;
      else if (error instanceof SignedOut) notes[item.key] = signedOutText;
      else throw error;
    } finally {
      line.removeAttribute("aria-busy");
    }
    await render(notes);
    afterAction();
  }

  return { render };
}
