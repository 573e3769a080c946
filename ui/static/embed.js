/* Shop assistant chat widget. Paste into any page of the shop:
 *   <script src="https://ASSISTANT-HOST/embed.js" async></script>
 * Optional attributes on the script tag: data-label="Chat with us", data-position="left".
 * It adds a round button in a corner; the button opens the assistant's chat in a panel (an iframe of
 * the assistant's own page, so the shop page never holds a key or a customer's conversation). */
(function () {
  function start(script) {
    if (window.__shopAssistantWidget) return;
    window.__shopAssistantWidget = true;
    var origin = new URL(script.src, window.location.href).origin;
    var label = script.getAttribute("data-label") || "Chat · 在线客服";
    var side = script.getAttribute("data-position") === "left" ? "left" : "right";

    var style = document.createElement("style");
    style.textContent =
      ".sa-button{position:fixed;bottom:20px;" + side + ":20px;z-index:2147483000;border:0;border-radius:28px;" +
      "padding:14px 20px;background:#ea580c;color:#fff;font:600 15px/1 system-ui,sans-serif;cursor:pointer;" +
      "box-shadow:0 6px 20px rgba(0,0,0,.25)}" +
      ".sa-button:focus-visible{outline:3px solid #fdba74;outline-offset:2px}" +
      ".sa-panel{position:fixed;bottom:84px;" + side + ":20px;z-index:2147483000;width:400px;height:640px;" +
      "max-height:calc(100vh - 104px);border:0;border-radius:14px;background:#fff;" +
      "box-shadow:0 12px 40px rgba(0,0,0,.3);display:none}" +
      ".sa-panel.sa-open{display:block}" +
      "@media (max-width:520px){.sa-panel{left:0;right:0;bottom:0;width:100%;height:100%;max-height:none;" +
      "border-radius:0}.sa-panel.sa-open+.sa-button{bottom:auto;top:12px}}";
    document.head.appendChild(style);

    var panel = document.createElement("iframe");
    panel.className = "sa-panel";
    panel.title = "Customer service chat · 在线客服";
    panel.setAttribute("allow", "clipboard-write");
    var button = document.createElement("button");
    button.className = "sa-button";
    button.type = "button";
    button.textContent = label;
    button.setAttribute("aria-expanded", "false");
    button.addEventListener("click", function () {
      if (!panel.src) panel.src = origin + "/?embed=1";  // load the chat only when a customer wants it
      var open = panel.classList.toggle("sa-open");
      button.setAttribute("aria-expanded", open ? "true" : "false");
      button.textContent = open ? "✕" : label;
    });
    document.body.appendChild(panel);
    document.body.appendChild(button);
  }

  var script = document.currentScript || document.querySelector('script[src*="embed.js"]');
  if (!document.body) {  // pasted into <head>: wait for the page's body
    document.addEventListener("DOMContentLoaded", function () { start(script); });
  } else {
    start(script);
  }
})();
