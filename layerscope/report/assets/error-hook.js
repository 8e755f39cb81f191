(function(){var h=document.documentElement;function rec(m){h.setAttribute("data-js-errors",
(h.getAttribute("data-js-errors")||"")+m+";");}
window.addEventListener("error",function(e){rec(String(e.message));});
window.addEventListener("unhandledrejection",function(e){rec("unhandled rejection: "+String(e.reason));});})();
