/*
 * The SEN Support Assistant's web chat.
 *
 * Any page embeds it with one tag:
 *
 *   <script src="https://assistant.example.org/chat/sen-chat.js"
 *           data-server="https://chat.example.org" defer></script>
 *
 * data-server     where the Rasa server answers (its socket.io channel)
 * data-path       the socket.io path, "/socket.io" unless set
 * data-kept-days  how many days the server keeps conversations (SEN_CONVERSATION_DAYS), 90 unless set
 *
 * It talks to Rasa's socket.io channel with socket.io-client, which it loads
 * from the same folder as this file. Each browser tab gets a long random
 * session id (crypto.getRandomValues), kept with the transcript in
 * sessionStorage, so a reload carries on the same conversation and closing
 * the tab ends it. Text from the assistant or the person is only ever put on
 * the page as text nodes, never parsed as HTML. Any element of the page with
 * a data-sen-chat-open attribute opens the chat too.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || window.SENChat) {
    return;
  }

  var BASE = new URL(".", script.src).href;
  var SERVER = script.getAttribute("data-server") || location.protocol + "//" + location.hostname + ":5005";
  var SOCKET_PATH = script.getAttribute("data-path") || "/socket.io";
  var KEPT_DAYS = /^[0-9]{1,4}$/.test(script.getAttribute("data-kept-days") || "") ?
    script.getAttribute("data-kept-days") : "90";
  var TITLE = "SEN Support Assistant";
  var KEYS = { session: "sen-chat.session", transcript: "sen-chat.transcript", open: "sen-chat.open" };
  var MAX_KEPT = 200;
  var REPLY_TIMEOUT_MS = 30000;
  var SMALL_SCREEN = window.matchMedia("(max-width: 600px), (max-height: 500px)");
  var URL_IN_TEXT = /https?:\/\/[^\s<>"']+/g;

  // Storage that survives a reload of this tab only, and works (for this page) when storage is blocked.
  var memory = {};
  var store = {
    get: function (key) {
      try {
        return window.sessionStorage.getItem(key);
      } catch (blocked) {
        return Object.prototype.hasOwnProperty.call(memory, key) ? memory[key] : null;
      }
    },
    set: function (key, value) {
      memory[key] = value;
      try {
        window.sessionStorage.setItem(key, value);
      } catch (blocked) {
        /* kept in memory for this page */
      }
    },
    remove: function (key) {
      delete memory[key];
      try {
        window.sessionStorage.removeItem(key);
      } catch (blocked) {
        /* nothing kept */
      }
    }
  };

  function newSessionId() {
    var bytes = new Uint8Array(32);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function sessionId() {
    var id = store.get(KEYS.session);
    if (!id || !/^[0-9a-f]{64}$/.test(id)) {
      id = newSessionId();
      store.set(KEYS.session, id);
    }
    return id;
  }

  function loadTranscript() {
    try {
      var kept = JSON.parse(store.get(KEYS.transcript) || "[]");
      return Array.isArray(kept) ? kept.filter(validEntry) : [];
    } catch (broken) {
      return [];
    }
  }

  function validEntry(entry) {
    return entry && (entry.from === "bot" || entry.from === "user") && typeof entry.text === "string" &&
      Array.isArray(entry.buttons || []);
  }

  function cleanButtons(buttons) {
    return (Array.isArray(buttons) ? buttons : []).filter(function (button) {
      return button && typeof button.title === "string" && typeof button.payload === "string" && button.title.trim();
    }).map(function (button) {
      return { title: button.title, payload: button.payload };
    });
  }

  // DOM building: attributes and text only, never HTML.
  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      node.setAttribute(name, attributes[name]);
    });
    (children || []).forEach(function (child) {
      node.append(child);
    });
    return node;
  }

  function hiddenText(text) {
    return el("span", { "class": "visually-hidden" }, [text]);
  }

  function safeLink(raw) {
    try {
      var url = new URL(raw);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (notUrl) {
      return null;
    }
  }

  // The text as text nodes, with http(s) addresses made into links that open in a new tab.
  function textWithLinks(text) {
    var fragment = document.createDocumentFragment();
    var last = 0;
    var match;
    URL_IN_TEXT.lastIndex = 0;
    while ((match = URL_IN_TEXT.exec(text)) !== null) {
      var shown = match[0].replace(/[.,;:!?)\]]+$/, "");
      var href = safeLink(shown);
      if (!href) {
        continue;
      }
      fragment.append(text.slice(last, match.index));
      fragment.append(el("a", { href: href, target: "_blank", rel: "noopener noreferrer" },
        [shown, hiddenText(" (opens in a new tab)")]));
      last = match.index + shown.length;
      URL_IN_TEXT.lastIndex = last;
    }
    fragment.append(text.slice(last));
    return fragment;
  }

  function icon(kind) {
    var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", kind === "close" ?
      "M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19l5.6-5.6 5.6 5.6 1.4-1.4-5.6-5.6L19 6.4 17.6 5 12 10.6z" :
      "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z");
    svg.append(path);
    return svg;
  }

  // The widget, in its own shadow root so the page's styles and its own do not mix.
  var host = el("div", { id: "sen-chat", lang: "en-GB" });
  var root = host.attachShadow({ mode: "open" });
  var sheet = el("link", { rel: "stylesheet", href: BASE + "sen-chat.css" });
  var frame = el("aside", { "class": "frame", "aria-label": "Chat with the " + TITLE, hidden: "" });

  var launcher = el("button", {
    type: "button", "class": "launcher", "aria-expanded": "false", "aria-controls": "sen-chat-panel"
  }, [icon("chat"), el("span", {}, ["Ask about SEN support"])]);

  var heading = el("h2", { id: "sen-chat-title" }, [TITLE]);
  var restart = el("button", { type: "button", "class": "text-button" }, ["Start again"]);
  var closer = el("button", { type: "button", "class": "icon-button", "aria-label": "Close chat" }, [icon("close")]);
  var intro = el("div", { "class": "intro" }, [
    el("p", {}, ["Hello. I answer questions about SEN support in schools in England, such as ",
      "\u201cwhat does assess, plan, do, review mean?\u201d or \u201chow often should we meet the school?\u201d"]),
    el("p", { "class": "privacy" }, ["Privacy: this is general information, not advice about one child. ",
      "Please don\u2019t share a child\u2019s details unless you have linked this chat with a code from the school. ",
      "This tab keeps the conversation until you close it or choose Start again (which also unlinks this chat). ",
      "The assistant\u2019s server keeps it for " + KEPT_DAYS + " days, without codes or private links, then deletes it."])
  ]);
  var log = el("div", {
    "class": "log", role: "log", "aria-live": "polite", "aria-relevant": "additions", "aria-label": "Conversation"
  });
  var typing = el("div", { "class": "typing", hidden: "" }, [
    el("span", { "class": "dots", "aria-hidden": "true" }, [el("span"), el("span"), el("span")]),
    hiddenText("The assistant is writing a reply")
  ]);
  // Focusable, so that keyboard users can scroll back through a long conversation.
  var scroller = el("div", {
    "class": "scroller", tabindex: "0", role: "region", "aria-label": "Messages"
  }, [intro, log, typing]);
  var status = el("p", { "class": "status", role: "status" });
  var input = el("input", {
    id: "sen-chat-input", type: "text", autocomplete: "off", maxlength: "1000", enterkeyhint: "send"
  });
  var sendButton = el("button", { type: "submit", "class": "send" }, ["Send"]);
  var form = el("form", { "class": "composer", novalidate: "" }, [
    status,
    el("label", { "for": "sen-chat-input" }, ["Your message"]),
    el("div", { "class": "row" }, [input, sendButton])
  ]);
  var panel = el("div", {
    id: "sen-chat-panel", "class": "panel", role: "dialog", "aria-modal": "false",
    "aria-labelledby": "sen-chat-title", hidden: ""
  }, [
    el("div", { "class": "header" }, [heading, el("div", { "class": "header-buttons" }, [restart, closer])]),
    scroller, form
  ]);
  frame.append(panel, launcher);
  root.append(sheet, frame);

  var session = sessionId();
  var transcript = loadTranscript();
  var socket = null;
  var ready = false;
  var pending = [];
  var replyTimer = null;
  var returnFocusTo = null;
  var replyStart = null;

  function save() {
    store.set(KEYS.transcript, JSON.stringify(transcript.slice(-MAX_KEPT)));
  }

  function setStatus(text) {
    status.textContent = text;
  }

  function removeReplies() {
    Array.prototype.forEach.call(log.querySelectorAll(".replies"), function (group) {
      group.remove();
    });
  }

  function repliesFor(buttons) {
    var group = el("div", { "class": "replies", role: "group", "aria-label": "Suggested replies" });
    buttons.forEach(function (button) {
      var choice = el("button", { type: "button", "class": "reply" }, [button.title]);
      choice.addEventListener("click", function () {
        send(button.payload, button.title);
        input.focus();
      });
      group.append(choice);
    });
    return group;
  }

  function render(entry, withReplies) {
    var who = entry.from === "bot" ? "The assistant said: " : "You said: ";
    var body = el("p", { "class": "text" }, [hiddenText(who), textWithLinks(entry.text)]);
    var bubble = el("div", { "class": "message " + entry.from }, [body]);
    if (withReplies && entry.buttons && entry.buttons.length) {
      bubble.append(repliesFor(entry.buttons));
    }
    log.append(bubble);
    return bubble;
  }

  // The scroller scrolls, or on very short screens the whole panel does.
  function scrollToEnd() {
    scroller.scrollTop = scroller.scrollHeight;
    panel.scrollTop = panel.scrollHeight;
  }

  // A reply that does not fit is shown from the question it answers; anything else scrolls to the end.
  function showLatest(bubble) {
    var area = panel.scrollHeight > panel.clientHeight ? panel : scroller;
    var start = replyStart || bubble;
    var top = start.getBoundingClientRect().top - area.getBoundingClientRect().top;
    var bottom = bubble.getBoundingClientRect().bottom - area.getBoundingClientRect().top;
    if (bubble.classList.contains("bot") && bottom - top > area.clientHeight * 0.75) {
      area.scrollTop += top - 8;
    } else {
      scrollToEnd();
    }
  }

  function add(entry) {
    if (entry.from === "user") {
      removeReplies();
    }
    transcript.push(entry);
    save();
    var bubble = render(entry, entry.from === "bot");
    if (entry.from === "user") {
      replyStart = bubble;
    }
    showLatest(bubble);
  }

  function restore() {
    var lastUser = -1;
    transcript.forEach(function (entry, index) {
      if (entry.from === "user") {
        lastUser = index;
      }
    });
    transcript.forEach(function (entry, index) {
      render(entry, entry.from === "bot" && index > lastUser);
    });
  }

  function stopWaiting() {
    typing.hidden = true;
    if (replyTimer) {
      window.clearTimeout(replyTimer);
      replyTimer = null;
    }
  }

  function waitForReply() {
    typing.hidden = false;
    scrollToEnd();
    if (replyTimer) {
      window.clearTimeout(replyTimer);
    }
    replyTimer = window.setTimeout(function () {
      stopWaiting();
      setStatus("No reply yet. Please try again in a moment.");
    }, REPLY_TIMEOUT_MS);
  }

  function flush() {
    if (!ready) {
      if (pending.length) {
        setStatus("Connecting\u2026 your message will be sent as soon as the assistant can be reached.");
      }
      return;
    }
    while (pending.length) {
      socket.emit("user_uttered", { message: pending.shift(), session_id: session });
      waitForReply();
    }
  }

  function send(message, shownAs) {
    var text = message.trim();
    if (!text) {
      return;
    }
    add({ from: "user", text: shownAs || text, buttons: [] });
    pending.push(text);
    connect();
    flush();
  }

  function onBotMessage(data) {
    if (!data || typeof data !== "object") {
      return;
    }
    var text = typeof data.text === "string" ? data.text : "";
    var attachment = data.attachment && data.attachment.payload;
    if (attachment && typeof attachment.src === "string" && safeLink(attachment.src)) {
      text = text ? text + "\n" + attachment.src : attachment.src;
    }
    var buttons = cleanButtons(data.quick_replies || data.buttons);
    if (!text && !buttons.length) {
      return;
    }
    stopWaiting();
    setStatus("");
    add({ from: "bot", text: text, buttons: buttons });
  }

  function connect() {
    if (socket) {
      return;
    }
    if (typeof window.io !== "function") {
      setStatus("The chat could not load. Please reload the page, or try again later.");
      return;
    }
    setStatus("Connecting\u2026");
    socket = window.io(SERVER, {
      path: SOCKET_PATH,
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      reconnectionDelayMax: 10000
    });
    socket.on("connect", function () {
      socket.emit("session_request", { session_id: session });
    });
    socket.on("session_confirm", function (confirmed) {
      if (confirmed !== session) {
        return;
      }
      ready = true;
      setStatus("");
      flush();
    });
    socket.on("bot_uttered", onBotMessage);
    socket.on("disconnect", function () {
      ready = false;
      stopWaiting();
      setStatus("The connection to the assistant was lost. Trying again\u2026");
    });
    socket.on("connect_error", function () {
      ready = false;
      stopWaiting();
      setStatus("The assistant can\u2019t be reached just now. Trying again\u2026");
    });
  }

  function startAgain() {
    transcript = [];
    store.remove(KEYS.transcript);
    session = newSessionId();
    store.set(KEYS.session, session);
    pending = [];
    stopWaiting();
    log.replaceChildren();
    replyStart = null;
    if (socket) {
      ready = false;
      // The server also unlinks the old session, in case it was linked to a school or a child.
      socket.emit("session_request", { session_id: session, forget_previous: true });
    }
    setStatus("A new conversation has started.");
    input.focus();
  }

  function isOpen() {
    return !panel.hidden;
  }

  function fitScreen() {
    var full = SMALL_SCREEN.matches;
    panel.setAttribute("aria-modal", full && isOpen() ? "true" : "false");
    frame.classList.toggle("full", full);
  }

  function open(opener, moveFocus) {
    returnFocusTo = opener || launcher;
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    frame.classList.add("open");
    store.set(KEYS.open, "1");
    fitScreen();
    connect();
    scrollToEnd();
    if (moveFocus !== false) {
      input.focus();
    }
  }

  function close() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    frame.classList.remove("open");
    store.remove(KEYS.open);
    fitScreen();
    var target = returnFocusTo && returnFocusTo.isConnected ? returnFocusTo : launcher;
    returnFocusTo = null;
    target.focus();
  }

  function focusable() {
    return Array.prototype.filter.call(panel.querySelectorAll("button, input, a[href]"), function (node) {
      return !node.disabled && node.offsetParent !== null;
    });
  }

  // When the chat fills the screen, Tab stays inside it (the page behind cannot be seen).
  function keepFocusInside(event) {
    if (event.key !== "Tab" || !SMALL_SCREEN.matches) {
      return;
    }
    var nodes = focusable();
    if (!nodes.length) {
      return;
    }
    var first = nodes[0];
    var last = nodes[nodes.length - 1];
    if (event.shiftKey && root.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && root.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  }

  launcher.addEventListener("click", function () {
    if (isOpen()) {
      close();
    } else {
      open(launcher);
    }
  });
  closer.addEventListener("click", close);
  restart.addEventListener("click", startAgain);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      event.preventDefault();
      close();
    } else {
      keepFocusInside(event);
    }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    input.value = "";
    send(text);
    input.focus();
  });
  document.addEventListener("click", function (event) {
    var opener = event.target instanceof Element && event.target.closest("[data-sen-chat-open]");
    if (opener) {
      event.preventDefault();
      open(opener);
    }
  });
  if (SMALL_SCREEN.addEventListener) {
    SMALL_SCREEN.addEventListener("change", fitScreen);
  }

  function show() {
    frame.hidden = false;
    if (store.get(KEYS.open)) {
      open(launcher, false);
    }
  }

  function start() {
    restore();
    sheet.addEventListener("load", show);
    sheet.addEventListener("error", show);
    document.body.append(host);
  }

  function loadClient(done) {
    if (typeof window.io === "function") {
      done();
      return;
    }
    var client = document.createElement("script");
    client.src = BASE + "socket.io.min.js";
    client.addEventListener("load", done);
    client.addEventListener("error", done);
    document.head.append(client);
  }

  window.SENChat = {
    open: function () {
      open(document.activeElement);
    },
    close: close
  };

  loadClient(function () {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", start);
    } else {
      start();
    }
  });
})();
