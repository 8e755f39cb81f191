(function(){
/* Tables of class "paged": a filter box and pages of PAGE rows (issue #17). A row's detail rows (class "detail",
   right after it) follow it. Sorting (sort.js) calls table._refresh() after it reorders the rows. */
var PAGE=20;
function rowsOf(table){return Array.prototype.filter.call(table.tBodies[0].rows,function(r){
return !r.classList.contains("detail");});}
Array.prototype.forEach.call(document.querySelectorAll("table.paged"),function(table){
var page=0,query="";
var bar=document.createElement("div");bar.className="pager";
var box=document.createElement("input");box.type="search";box.placeholder="Filter rows";
box.setAttribute("aria-label","Filter "+(table.getAttribute("data-what")||"rows"));
var prev=document.createElement("button");prev.type="button";prev.textContent="\u2039 previous";
var next=document.createElement("button");next.type="button";next.textContent="next \u203A";
var info=document.createElement("span");info.className="info";
bar.appendChild(box);bar.appendChild(prev);bar.appendChild(info);bar.appendChild(next);
var holder=table.parentNode;holder.parentNode.insertBefore(bar,holder);
function refresh(){
var rows=rowsOf(table);
var hits=rows.filter(function(r){return !query||r.textContent.toLowerCase().indexOf(query)>=0||
(r.getAttribute("data-reference")||"").toLowerCase().indexOf(query)>=0;});
var pages=Math.max(1,Math.ceil(hits.length/PAGE));if(page>=pages)page=pages-1;if(page<0)page=0;
var shown=new Set(hits.slice(page*PAGE,(page+1)*PAGE));
rows.forEach(function(r){var on=shown.has(r);r.hidden=!on;
var d=r.nextElementSibling;while(d&&d.classList.contains("detail")){d.hidden=!on||!r.classList.contains("open");
d=d.nextElementSibling;}});
info.textContent=hits.length?(page*PAGE+1)+"\u2013"+Math.min(hits.length,(page+1)*PAGE)+" of "+hits.length+
(query?" matching":""):"no matching rows";
prev.disabled=page===0;next.disabled=page>=pages-1;}
table._refresh=refresh;
box.addEventListener("input",function(){query=box.value.trim().toLowerCase();page=0;refresh();});
prev.addEventListener("click",function(){page--;refresh();});
next.addEventListener("click",function(){page++;refresh();});
refresh();});
/* Expandable rows: a button in a row of class "group" shows the detail rows after it. */
Array.prototype.forEach.call(document.querySelectorAll("tr.group button.expand"),function(btn){
btn.addEventListener("click",function(){var row=btn.closest("tr");var open=!row.classList.contains("open");
row.classList.toggle("open",open);btn.setAttribute("aria-expanded",open?"true":"false");
btn.textContent=open?"\u25BE":"\u25B8";
var d=row.nextElementSibling;while(d&&d.classList.contains("detail")){d.hidden=!open;d=d.nextElementSibling;}});});
})();
